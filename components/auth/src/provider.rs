//! Talking to an OAuth provider: bounded requests and one way to report failures.

use std::time::Duration;

use chatcode_core::{ApiError, ErrorKind};
use chatcode_kit::outbound::{self, OutboundError};
use serde::de::DeserializeOwned;
use spin_sdk::http::{Request, Response};

/// How long a provider may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest provider response read.
const MAX_RESPONSE: usize = 256 * 1024;

/// A 502 naming the provider and what went wrong (never a token).
pub fn failure(provider: &str, what: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorKind::BadGateway,
        format!("{provider} sign-in failed: {what}"),
    )
}

/// Sends `request`; transport failures and timeouts become a 502.
pub async fn send(provider: &str, request: Request) -> Result<Response, ApiError> {
    outbound::send(request, TIMEOUT).await.map_err(|e| {
        eprintln!("{provider}: {e}");
        match e {
            OutboundError::Timeout => {
                failure(provider, format!("{provider} did not answer in time"))
            }
            OutboundError::Failed(_) => {
                failure(provider, format!("{provider} could not be reached"))
            }
        }
    })
}

/// Parses a successful JSON answer; any other status or shape is a 502.
pub fn json<T: DeserializeOwned>(provider: &str, response: &Response) -> Result<T, ApiError> {
    let status = *response.status();
    if !(200..300).contains(&status) {
        eprintln!("{provider} answered {status}: {}", preview(response.body()));
        return Err(failure(
            provider,
            format!("{provider} answered HTTP {status}"),
        ));
    }
    if response.body().len() > MAX_RESPONSE {
        return Err(failure(provider, "the answer is too large"));
    }
    serde_json::from_slice(response.body()).map_err(|e| {
        eprintln!("{provider} sent unexpected JSON: {e}");
        failure(
            provider,
            format!("{provider} sent an answer that is not the documented JSON"),
        )
    })
}

fn preview(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}
