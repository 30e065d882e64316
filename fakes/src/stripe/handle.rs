//! What tests use to look inside a running Stripe fake, to act as the customer's browser,
//! the dashboard or the bank, and to steer webhook delivery.

use std::{
    fmt,
    time::{Duration, Instant},
};

use serde_json::Value;

use super::{
    StripeEndpoint, TestCard,
    errors::ApiError,
    state::{Origin, StripeState},
    webhooks::{Endpoint, Signing, WebhookAttempt},
};
use crate::common::{random, traffic::Traffic};

/// How often the waiting helpers look at the attempts.
const WAIT_STEP: Duration = Duration::from_millis(10);

/// Why a test hook could not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookError {
    /// No object has this id.
    NotFound(String),
    /// The object is not in a state that allows it.
    WrongState(String),
    /// The card was declined, with this `decline_code`.
    Declined(String),
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound(id) => write!(f, "no such object: {id}"),
            Self::WrongState(why) => f.write_str(why),
            Self::Declined(code) => write!(f, "the card was declined: {code}"),
        }
    }
}

impl std::error::Error for HookError {}

impl From<ApiError> for HookError {
    fn from(e: ApiError) -> Self {
        match e.decline_code {
            Some(code) => Self::Declined(code.to_owned()),
            None => Self::WrongState(e.message.clone()),
        }
    }
}

/// A cheap-clone handle on a Stripe fake's state.
#[derive(Debug, Clone)]
pub struct StripeHandle {
    state: StripeState,
}

/// Events caused in Stripe.js carry the id of the browser's request.
fn browser() -> Origin {
    Origin {
        request_id: Some(format!("req_{}", random::alphanumeric(14))),
        idempotency_key: None,
    }
}

impl StripeHandle {
    pub(crate) fn new(state: StripeState) -> Self {
        Self { state }
    }

    /// The requests it received and the faults queued for it.
    pub fn traffic(&self) -> &Traffic<StripeEndpoint> {
        &self.state.0.traffic
    }

    /// The first configured secret key (what the app should send).
    pub fn secret_key(&self) -> &str {
        self.state
            .config()
            .secret_keys
            .first()
            .map_or("", String::as_str)
    }

    /// Any object by id (`cus_`, `pm_`, `seti_`, `pi_`, `ch_`, `re_`, `dp_`, `evt_`), as the
    /// API shows it now.
    pub fn object(&self, id: &str) -> Option<Value> {
        let inner = self.state.lock();
        let key = id.to_owned();
        let (prefix, _) = id.split_once('_')?;
        match prefix {
            "cus" => inner.customers.get(&key).map(|o| o.to_json()),
            "pm" => inner.payment_methods.get(&key).map(|o| o.to_json()),
            "seti" => inner.setup_intents.get(&key).map(|o| o.to_json()),
            "pi" => inner.payment_intents.get(&key).map(|o| o.to_json()),
            "ch" => inner.charges.get(&key).map(|o| o.to_json()),
            "re" => inner.refunds.get(&key).map(|o| o.to_json()),
            "dp" => inner.disputes.get(&key).map(|o| o.to_json()),
            "evt" => inner.event_json(id, &self.state.config().api_version),
            _ => None,
        }
    }

    /// Every event, oldest first, as `GET /v1/events/{id}` shows it.
    pub fn events(&self) -> Vec<Value> {
        let inner = self.state.lock();
        let version = &self.state.config().api_version;
        inner
            .events
            .values()
            .filter_map(|e| inner.event_json(&e.id, version))
            .collect()
    }

    /// Finishes a SetupIntent as Stripe.js does once the customer typed `card` (and passed
    /// 3D Secure if asked): a new card payment method, attached to the intent's customer,
    /// the intent `succeeded`; events `payment_method.attached`, `setup_intent.succeeded`.
    /// Returns the payment method's id; a declined card leaves the intent
    /// `requires_payment_method` (`setup_intent.setup_failed`).
    pub fn complete_setup_intent(&self, id: &str, card: TestCard) -> Result<String, HookError> {
        let now = self.state.now_ms();
        let mut inner = self.state.lock();
        let status = inner
            .setup_intents
            .get(&id.to_owned())
            .map(|si| si.status)
            .ok_or_else(|| HookError::NotFound(id.to_owned()))?;
        if matches!(status, "succeeded" | "canceled") {
            return Err(HookError::WrongState(format!("{id} is {status}")));
        }
        let pm = inner.new_payment_method(card, now);
        if let Some(si) = inner.setup_intents.get_mut(&id.to_owned()) {
            si.payment_method = Some(pm.clone());
        }
        let result = inner.confirm_setup(id, true, &browser(), now);
        drop(inner);
        self.state.wake();
        result.map(|()| pm).map_err(HookError::from)
    }

    /// Brings the customer back on-session to pay a PaymentIntent with its payment method
    /// (or the one its last failure names), passing 3D Secure: Stripe.js
    /// `confirmCardPayment` with the intent's `client_secret`. A declining card still declines.
    pub fn authenticate_payment_intent(&self, id: &str) -> Result<(), HookError> {
        let now = self.state.now_ms();
        let mut inner = self.state.lock();
        let pi = inner
            .payment_intents
            .get_mut(&id.to_owned())
            .ok_or_else(|| HookError::NotFound(id.to_owned()))?;
        if matches!(pi.status, "succeeded" | "canceled" | "processing") {
            return Err(HookError::WrongState(format!("{id} is {}", pi.status)));
        }
        let last = pi
            .last_payment_error
            .as_ref()
            .and_then(|e| e["payment_method"]["id"].as_str())
            .map(str::to_owned);
        let Some(pm) = pi.payment_method.clone().or(last) else {
            return Err(HookError::WrongState(format!("{id} has no payment method")));
        };
        pi.payment_method = Some(pm);
        let result = inner.confirm_payment(id, false, true, &browser(), now);
        drop(inner);
        self.state.wake();
        result.map_err(HookError::from)
    }

    /// Saves a card for a customer without a SetupIntent (as the dashboard does): a new
    /// payment method, attached (`payment_method.attached`). Returns its id.
    pub fn add_card(&self, customer: &str, card: TestCard) -> Result<String, HookError> {
        let now = self.state.now_ms();
        let mut inner = self.state.lock();
        if inner.customers.get(&customer.to_owned()).is_none() {
            return Err(HookError::NotFound(customer.to_owned()));
        }
        let pm = inner.new_payment_method(card, now);
        let result = inner.attach(&pm, customer, &Origin::default(), now);
        drop(inner);
        self.state.wake();
        result.map(|()| pm).map_err(HookError::from)
    }

    /// Makes an existing payment method behave as `card` from now on. False if unknown.
    pub fn set_card(&self, payment_method: &str, card: TestCard) -> bool {
        match self
            .state
            .lock()
            .payment_methods
            .get_mut(&payment_method.to_owned())
        {
            Some(pm) => {
                pm.card = card;
                true
            }
            None => false,
        }
    }

    /// Refunds `amount` of a charge (all that is left if `None`) from the dashboard:
    /// `charge.refunded`, `refund.created`. Returns the refund's id.
    pub fn refund(&self, charge: &str, amount: Option<u64>) -> Result<String, HookError> {
        let now = self.state.now_ms();
        let result = self.state.lock().refund(charge, amount, now);
        self.state.wake();
        result
    }

    /// Opens a dispute on a charge as the cardholder's bank would (`reason`: `fraudulent`,
    /// `general`, …): `charge.dispute.created`. Returns the dispute's id.
    pub fn dispute(&self, charge: &str, reason: &str) -> Result<String, HookError> {
        let now = self.state.now_ms();
        let result = self.state.lock().dispute(charge, reason, now);
        self.state.wake();
        result
    }

    /// Sends events from now on to `url`, signed with `secret` (an app on a port chosen after
    /// the fake started).
    pub fn set_webhook_endpoint(&self, url: &str, secret: &str) {
        self.state.lock().webhooks.endpoint = Some(Endpoint {
            url: url.to_owned(),
            secret: secret.to_owned(),
            previous_secret: None,
        });
    }

    /// Rolls the endpoint's secret: deliveries carry two `v1` signatures, the old secret's
    /// first, as while an old secret has not expired yet. False without an endpoint.
    pub fn roll_webhook_secret(&self, new_secret: &str) -> bool {
        match self.state.lock().webhooks.endpoint.as_mut() {
            Some(endpoint) => {
                let old = std::mem::replace(&mut endpoint.secret, new_secret.to_owned());
                endpoint.previous_secret = Some(old);
                true
            }
            None => false,
        }
    }

    /// Holds new events instead of delivering them, until released or resumed.
    pub fn hold_webhooks(&self) {
        self.state.lock().webhooks.held = true;
    }

    /// Delivers automatically again, starting with the held events, oldest first.
    pub fn resume_webhooks(&self) {
        let now = self.state.now_ms();
        self.state.lock().webhooks.resume(now);
        self.state.wake();
    }

    /// Ids of the events held back, oldest first.
    pub fn held_events(&self) -> Vec<String> {
        self.state.lock().webhooks.held_events()
    }

    /// Delivers one event now (held or not, again if it went before), signed as told; a
    /// released delivery is tried once. False if there is no such event or no endpoint.
    pub fn release_event(&self, event_id: &str, signing: Signing) -> bool {
        let now = self.state.now_ms();
        let mut inner = self.state.lock();
        if inner.events.get(&event_id.to_owned()).is_none() || inner.webhooks.endpoint.is_none() {
            return false;
        }
        inner.webhooks.release(event_id, signing, now);
        drop(inner);
        self.state.wake();
        true
    }

    /// Every delivery attempt so far (the last thousand), oldest first.
    pub fn webhook_attempts(&self) -> Vec<WebhookAttempt> {
        self.state.lock().webhooks.attempts()
    }

    /// Forgets the delivery attempts recorded so far.
    pub fn clear_webhook_attempts(&self) {
        self.state.lock().webhooks.clear_attempts();
    }

    /// Blocks until at least `count` attempts were made or `timeout` passed; returns them.
    /// Do not call it on the runtime that serves the endpoint (use the async one there).
    pub fn wait_for_attempts(&self, count: usize, timeout: Duration) -> Vec<WebhookAttempt> {
        let deadline = Instant::now() + timeout;
        loop {
            let attempts = self.webhook_attempts();
            if attempts.len() >= count || Instant::now() >= deadline {
                return attempts;
            }
            std::thread::sleep(WAIT_STEP);
        }
    }

    /// Waits (without blocking the runtime) until at least `count` attempts were made or
    /// `timeout` passed; returns them.
    pub async fn wait_for_attempts_async(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Vec<WebhookAttempt> {
        let deadline = Instant::now() + timeout;
        loop {
            let attempts = self.webhook_attempts();
            if attempts.len() >= count || Instant::now() >= deadline {
                return attempts;
            }
            tokio::time::sleep(WAIT_STEP).await;
        }
    }

    /// Moves the fake's clock forward: retries come due sooner, idempotency keys expire after
    /// 24 hours, and new objects and signatures carry the later time.
    pub fn advance_clock(&self, by: Duration) {
        self.state.0.clock.advance(by);
        self.state.wake();
    }
}
