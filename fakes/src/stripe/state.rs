//! The Stripe fake's shared state: objects, events, idempotency keys and the webhook queue,
//! behind one std mutex never held across `.await`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use super::{
    StripeConfig, StripeEndpoint,
    charges::{Charge, Dispute, Refund},
    errors::ApiError,
    events::Event,
    idempotency::Saved,
    model::{Customer, PaymentIntent, PaymentMethod, SetupIntent},
    webhooks::Webhooks,
};
use crate::common::{bounded::BoundedMap, clock::Clock, random, traffic::Traffic};

/// Objects of one kind the fake keeps (the oldest go first).
const MAX_OBJECTS: usize = 10_000;
/// Events kept for `GET /v1/events/{id}` and the handle.
const MAX_EVENTS: usize = 10_000;
/// Idempotency keys remembered (Stripe keeps them at least 24 hours).
const MAX_IDEMPOTENCY_KEYS: usize = 10_000;

/// What caused an event: the API request (`request.id`, `request.idempotency_key`), or
/// nothing for what happens in the dashboard, the bank or Stripe.js.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Origin {
    pub request_id: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub customers: BoundedMap<String, Customer>,
    pub payment_methods: BoundedMap<String, PaymentMethod>,
    pub setup_intents: BoundedMap<String, SetupIntent>,
    pub payment_intents: BoundedMap<String, PaymentIntent>,
    pub charges: BoundedMap<String, Charge>,
    pub refunds: BoundedMap<String, Refund>,
    pub disputes: BoundedMap<String, Dispute>,
    pub events: BoundedMap<String, Event>,
    /// `(API key, Idempotency-Key)` to the first answer.
    pub idempotency: BoundedMap<(String, String), Saved>,
    pub webhooks: Webhooks,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub config: StripeConfig,
    pub clock: Clock,
    pub traffic: Traffic<StripeEndpoint>,
    /// Wakes the webhook sender when a delivery is queued.
    pub wake: Notify,
    inner: Mutex<Inner>,
}

/// Cheap-clone handle on the shared state (axum state, the webhook sender and
/// [`super::StripeHandle`]).
#[derive(Debug, Clone)]
pub(crate) struct StripeState(pub Arc<Shared>);

impl StripeState {
    pub(crate) fn new(config: StripeConfig) -> Self {
        let inner = Inner {
            customers: BoundedMap::new(MAX_OBJECTS),
            payment_methods: BoundedMap::new(MAX_OBJECTS),
            setup_intents: BoundedMap::new(MAX_OBJECTS),
            payment_intents: BoundedMap::new(MAX_OBJECTS),
            charges: BoundedMap::new(MAX_OBJECTS),
            refunds: BoundedMap::new(MAX_OBJECTS),
            disputes: BoundedMap::new(MAX_OBJECTS),
            events: BoundedMap::new(MAX_EVENTS),
            idempotency: BoundedMap::new(MAX_IDEMPOTENCY_KEYS),
            webhooks: Webhooks::new(&config),
        };
        Self(Arc::new(Shared {
            traffic: Traffic::new(config.journal_capacity),
            config,
            clock: Clock::default(),
            wake: Notify::new(),
            inner: Mutex::new(inner),
        }))
    }

    pub(crate) fn config(&self) -> &StripeConfig {
        &self.0.config
    }

    /// Locks the state; a poisoned lock is still usable (tests may panic).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn now_secs(&self) -> u64 {
        self.0.clock.now_secs()
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.0.clock.now_ms()
    }

    /// Tells the webhook sender to look at its queue.
    pub(crate) fn wake(&self) {
        self.0.wake.notify_one();
    }
}

/// A new object id: `cus_` and 14 characters, others 24, as Stripe's look.
pub(crate) fn new_id(prefix: &str) -> String {
    let len = if prefix == "cus" { 14 } else { 24 };
    format!("{prefix}_{}", random::alphanumeric(len))
}

/// A client secret for an intent: `{id}_secret_…`.
pub(crate) fn client_secret(id: &str) -> String {
    format!("{id}_secret_{}", random::alphanumeric(25))
}

impl Inner {
    /// The customer `id`, or Stripe's `resource_missing` naming `param`.
    pub(crate) fn customer(&self, id: &str, param: &str) -> Result<&Customer, ApiError> {
        self.customers
            .get(&id.to_owned())
            .ok_or_else(|| ApiError::no_such("customer", id, param))
    }

    /// The payment method `id`, or `resource_missing` naming `param`.
    pub(crate) fn payment_method(&self, id: &str, param: &str) -> Result<&PaymentMethod, ApiError> {
        self.payment_methods
            .get(&id.to_owned())
            .ok_or_else(|| ApiError::no_such("PaymentMethod", id, param))
    }
}
