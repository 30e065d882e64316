//! Outbound HTTP with a deadline, so a provider that hangs answers 502 in
//! seconds instead of holding the request until the platform gives up.
//!
//! spin-sdk 5.2's `send` takes no request options, so the deadline is a
//! `wasi:clocks` timer raced against the request on the SDK's executor; it
//! behaves the same on real Spin.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use futures::future::{Either, select};
use spin_executor::CancelOnDropToken;
use spin_sdk::http::{Request, Response};
use wasi::clocks::monotonic_clock;

/// Why an outbound request produced no response.
#[derive(Debug)]
pub enum OutboundError {
    /// No answer within the deadline.
    Timeout,
    /// The host refused or the connection failed (including a denied host).
    Failed(String),
}

impl std::fmt::Display for OutboundError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutboundError::Timeout => f.write_str("no answer in time"),
            OutboundError::Failed(why) => write!(f, "request failed: {why}"),
        }
    }
}

/// Sends `request`, giving up after `timeout`.
///
/// The body is complete, so it goes with `Content-Length`: without it the host streams it
/// chunked, which some OAuth servers and WSGI stacks refuse.
pub async fn send(mut request: Request, timeout: Duration) -> Result<Response, OutboundError> {
    let bodiless = matches!(
        request.method(),
        spin_sdk::http::Method::Get | spin_sdk::http::Method::Head
    ) && request.body().is_empty();
    if !bodiless && request.header("content-length").is_none() {
        let length = request.body().len().to_string();
        request.set_header("content-length", length);
    }
    let sending = std::pin::pin!(spin_sdk::http::send::<_, Response>(request));
    let timer = std::pin::pin!(Timer::new(timeout));
    match select(sending, timer).await {
        Either::Left((result, _)) => result.map_err(|e| OutboundError::Failed(e.to_string())),
        Either::Right(((), _)) => Err(OutboundError::Timeout),
    }
}

/// Resolves once the monotonic clock passes a deadline.
struct Timer {
    deadline: monotonic_clock::Instant,
    registration: Option<CancelOnDropToken>,
}

impl Timer {
    fn new(after: Duration) -> Self {
        let nanos = u64::try_from(after.as_nanos()).unwrap_or(u64::MAX);
        Self {
            deadline: monotonic_clock::now().saturating_add(nanos),
            registration: None,
        }
    }
}

impl Future for Timer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if monotonic_clock::now() >= self.deadline {
            return Poll::Ready(());
        }
        // Replacing the registration cancels the previous one, so at most one
        // clock pollable is registered with the executor at a time.
        let pollable = monotonic_clock::subscribe_instant(self.deadline);
        let token = spin_executor::push_waker_and_get_token(pollable, cx.waker().clone());
        self.registration = Some(token.into());
        Poll::Pending
    }
}

/// Encodes pairs as `application/x-www-form-urlencoded`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencoding::encode(k), urlencoding::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}
