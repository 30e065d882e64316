//! A fake of Stripe: API v1 (`/v1/…`, the app's Stripe base URL) and webhooks POSTed to a
//! configured endpoint.
//!
//! It follows Stripe's API reference: form-encoded requests with bracket nesting, Bearer (or
//! Basic) secret keys, `Stripe-Version`, `Idempotency-Key` replays, errors as
//! `{"error": {"type", "code", "message", "param", …}}`, objects with Stripe's id prefixes,
//! test cards that succeed, decline or need authentication, and events signed with
//! `Stripe-Signature`, delivered at least once.

mod cards;
mod charges;
mod config;
mod customers;
mod errors;
mod events;
mod form;
mod gate;
mod handle;
mod idempotency;
mod model;
mod params;
mod payment_intents;
mod payment_methods;
mod sender;
mod setup_intents;
mod state;
mod webhooks;

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Extension, Router,
    extract::Request,
    http::{Extensions, Method, StatusCode},
    middleware::from_fn_with_state,
    response::Response,
    routing::{get, post},
};

pub use self::{
    cards::TestCard,
    config::{DEFAULT_SECRET_KEY, DEFAULT_WEBHOOK_SECRET, StripeConfig},
    handle::{HookError, StripeHandle},
    webhooks::{Signing, WebhookAttempt, sign},
};
use self::{errors::ApiError, gate::Caller, state::StripeState};
use crate::common::{
    faults::Fault,
    observe::{Fake, record},
    server::FakeServer,
    traffic::Traffic,
};

/// The fake's endpoints, as tests name them for call counts and faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StripeEndpoint {
    /// `POST /v1/customers`
    CreateCustomer,
    /// `GET /v1/customers/{id}`
    GetCustomer,
    /// `POST /v1/customers/{id}`
    UpdateCustomer,
    /// `GET /v1/customers/{id}/payment_methods`
    ListPaymentMethods,
    /// `POST /v1/setup_intents`
    CreateSetupIntent,
    /// `GET /v1/setup_intents/{id}`
    GetSetupIntent,
    /// `GET /v1/payment_methods/{id}`
    GetPaymentMethod,
    /// `POST /v1/payment_methods/{id}/attach`
    AttachPaymentMethod,
    /// `POST /v1/payment_methods/{id}/detach`
    DetachPaymentMethod,
    /// `POST /v1/payment_intents`
    CreatePaymentIntent,
    /// `GET /v1/payment_intents/{id}`
    GetPaymentIntent,
    /// `GET /v1/charges/{id}`
    GetCharge,
    /// `GET /v1/events/{id}`
    GetEvent,
}

impl Fake for StripeState {
    type Endpoint = StripeEndpoint;

    fn endpoint(method: &Method, route: &str) -> Option<StripeEndpoint> {
        use StripeEndpoint as E;
        Some(match (method.as_str(), route) {
            ("POST", "/v1/customers") => E::CreateCustomer,
            ("GET", "/v1/customers/{id}") => E::GetCustomer,
            ("POST", "/v1/customers/{id}") => E::UpdateCustomer,
            ("GET", "/v1/customers/{id}/payment_methods") => E::ListPaymentMethods,
            ("POST", "/v1/setup_intents") => E::CreateSetupIntent,
            ("GET", "/v1/setup_intents/{id}") => E::GetSetupIntent,
            ("GET", "/v1/payment_methods/{id}") => E::GetPaymentMethod,
            ("POST", "/v1/payment_methods/{id}/attach") => E::AttachPaymentMethod,
            ("POST", "/v1/payment_methods/{id}/detach") => E::DetachPaymentMethod,
            ("POST", "/v1/payment_intents") => E::CreatePaymentIntent,
            ("GET", "/v1/payment_intents/{id}") => E::GetPaymentIntent,
            ("GET", "/v1/charges/{id}") => E::GetCharge,
            ("GET", "/v1/events/{id}") => E::GetEvent,
            _ => return None,
        })
    }

    fn traffic(&self) -> &Traffic<StripeEndpoint> {
        &self.0.traffic
    }

    fn fault_response(
        &self,
        _endpoint: StripeEndpoint,
        fault: &Fault,
        ext: &Extensions,
    ) -> Response {
        let caller = ext.get::<Caller>();
        let error = match fault {
            Fault::RateLimited { .. } => ApiError::rate_limited(),
            Fault::Status(code) => status_error(
                StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                caller.map(|c| c.api_key.as_str()),
            ),
            Fault::Hang(_) | Fault::Late(_) => ApiError::api(StatusCode::INTERNAL_SERVER_ERROR),
        };
        error.render(caller.map(|c| c.request_id.as_str()), self.now_secs())
    }
}

/// Stripe's own error for an injected status (its docs' status table).
fn status_error(status: StatusCode, api_key: Option<&str>) -> ApiError {
    match status.as_u16() {
        401 => ApiError::unauthorized(api_key),
        402 => ApiError::card(
            "card_declined",
            "generic_decline",
            "Your card was declined.",
        ),
        429 => ApiError::rate_limited(),
        500..=599 | 424 => {
            let mut e = ApiError::api(status);
            if status == StatusCode::FAILED_DEPENDENCY {
                e.message = "The request couldn't be completed due to a failure in a dependency external to Stripe.".to_owned();
            }
            e
        }
        _ => {
            let message = match status.as_u16() {
                403 => "The API key doesn't have permissions to perform the request.",
                404 => "The requested resource doesn't exist.",
                409 => {
                    "The request conflicts with another request (perhaps due to using the same idempotent key)."
                }
                _ => "The request was unacceptable, often due to missing a required parameter.",
            };
            let mut e = ApiError::invalid(message);
            e.status = status;
            e
        }
    }
}

/// Stripe's 404 for a path (or a method on it) it does not serve.
async fn unrecognized(req: Request) -> Response {
    ApiError::unrecognized_url(req.method().as_str(), req.uri().path()).render(None, 0)
}

fn router(state: StripeState, alive: Arc<()>) -> Router {
    Router::new()
        .route("/v1/customers", post(customers::create))
        .route(
            "/v1/customers/{id}",
            get(customers::get).post(customers::update),
        )
        .route(
            "/v1/customers/{id}/payment_methods",
            get(customers::payment_methods),
        )
        .route("/v1/setup_intents", post(setup_intents::create))
        .route("/v1/setup_intents/{id}", get(setup_intents::get))
        .route("/v1/payment_methods/{id}", get(payment_methods::get))
        .route(
            "/v1/payment_methods/{id}/attach",
            post(payment_methods::attach),
        )
        .route(
            "/v1/payment_methods/{id}/detach",
            post(payment_methods::detach),
        )
        .route("/v1/payment_intents", post(payment_intents::create))
        .route("/v1/payment_intents/{id}", get(payment_intents::get))
        .route("/v1/charges/{id}", get(charges::get))
        .route("/v1/events/{id}", get(events::get))
        .route_layer(from_fn_with_state(state.clone(), gate::gate))
        .route_layer(from_fn_with_state(state.clone(), record::<StripeState>))
        .fallback(unrecognized)
        .method_not_allowed_fallback(unrecognized)
        .layer(Extension(alive))
        .with_state(state)
}

/// Starts the fake on `listen` (port 0 picks a free port) on its own thread, with the
/// webhook sender on another; both stop when the server is dropped.
pub fn spawn_on(
    config: StripeConfig,
    listen: SocketAddr,
) -> anyhow::Result<(FakeServer, StripeHandle)> {
    let listener = FakeServer::bind(listen)?;
    let state = StripeState::new(config);
    // The router holds the only strong reference: the sender stops once the server is gone.
    let alive = Arc::new(());
    sender::spawn(state.clone(), Arc::downgrade(&alive))?;
    let server = FakeServer::serve(listener, router(state.clone(), alive))?;
    Ok((server, StripeHandle::new(state)))
}

/// Starts the fake on `127.0.0.1:0`, for synchronous tests.
///
/// # Panics
/// If no loopback port can be bound (the test cannot run without one).
pub fn spawn(config: StripeConfig) -> (FakeServer, StripeHandle) {
    spawn_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).expect("starting the Stripe fake")
}
