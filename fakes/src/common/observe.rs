//! Middleware every fake uses: record each routed request, then play any
//! fault a test queued for its endpoint.

use std::{fmt::Debug, hash::Hash};

use axum::{
    body::{Body, to_bytes},
    extract::{MatchedPath, Request, State},
    http::{Extensions, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{faults::Fault, journal::RecordedRequest, traffic::Traffic};

/// Largest request body a fake reads (DigitalOcean caps `user_data` at 64 KiB).
const MAX_BODY: usize = 1 << 20;

/// What the shared middleware needs from a fake's state.
pub(crate) trait Fake: Clone + Send + Sync + 'static {
    /// The fake's endpoints, as tests name them.
    type Endpoint: Copy + Eq + Hash + Debug + Send + Sync + 'static;

    /// Which endpoint a routed request is, from its method and route template.
    fn endpoint(method: &Method, route: &str) -> Option<Self::Endpoint>;
    /// Where requests are recorded and tests queue faults.
    fn traffic(&self) -> &Traffic<Self::Endpoint>;
    /// The service's own answer for an injected status or rate limit.
    fn fault_response(&self, endpoint: Self::Endpoint, fault: &Fault, ext: &Extensions)
    -> Response;
}

/// Records the request (body included) and tags it with its endpoint.
pub(crate) async fn record<F: Fake>(State(fake): State<F>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let Some(endpoint) = route.and_then(|r| F::endpoint(req.method(), &r)) else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    };
    fake.traffic()
        .record(RecordedRequest::new(endpoint, &parts, &bytes));
    parts.extensions.insert(endpoint);
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Plays the next queued fault for the request's endpoint, if any.
pub(crate) async fn inject<F: Fake>(State(fake): State<F>, req: Request, next: Next) -> Response {
    let Some(endpoint) = req.extensions().get::<F::Endpoint>().copied() else {
        return next.run(req).await;
    };
    match fake.traffic().take_fault(endpoint) {
        None => next.run(req).await,
        Some(Fault::Hang(duration)) => {
            tokio::time::sleep(duration).await;
            next.run(req).await
        }
        Some(Fault::Late(duration)) => {
            let response = next.run(req).await;
            tokio::time::sleep(duration).await;
            response
        }
        Some(fault) => fake.fault_response(endpoint, &fault, req.extensions()),
    }
}
