//! The hub as the components call it, with `hub_secret`: the command relay (`POST
//! {hub_url}/internal/gateways/:id/commands`, answered with the gateway's `ack` and typed
//! answer) and revocations (`POST {hub_url}/internal/revoke`).

use std::time::Duration;

use chatcode_core::{ApiError, ErrorKind, protocol::Command, revocation::Revocation};
use serde::Deserialize;
use serde_json::Value;
use spin_sdk::http::{Method, Request};

use crate::{config, outbound};

/// Longer than the hub's own 10 s wait for an ack, so the hub's 504 arrives first.
const TIMEOUT: Duration = Duration::from_secs(15);
/// Longest a revocation waits for the hub: signing out must not hang on it.
const REVOKE_TIMEOUT: Duration = Duration::from_secs(3);

/// A relayed command's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Answer {
    /// The gateway's `ack`.
    pub ack: AckBody,
    /// The typed event that answered the command, if it has one.
    pub event: Option<Value>,
}

/// The fields of an `ack` the components read.
#[derive(Debug, Clone, Deserialize)]
pub struct AckBody {
    /// Whether the gateway did it.
    pub ok: bool,
    /// Why not.
    pub error: Option<String>,
}

/// Why a relay produced no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayError {
    /// The gateway is not connected to the hub.
    Offline,
    /// The gateway did not answer in time.
    Timeout,
    /// The hub cannot be reached, or answered something else.
    HubUnavailable,
}

impl From<RelayError> for ApiError {
    fn from(err: RelayError) -> Self {
        match err {
            RelayError::Offline => ApiError::new(
                ErrorKind::GatewayOffline,
                "the VPS's gateway is not connected; try again when the VPS is online",
            ),
            RelayError::Timeout => ApiError::new(
                ErrorKind::GatewayTimeout,
                "the VPS's gateway did not answer in time",
            ),
            RelayError::HubUnavailable => ApiError::new(
                ErrorKind::ServiceUnavailable,
                "the terminal hub is unavailable; try again shortly",
            ),
        }
    }
}

/// Relays `command` to gateway `gateway_id` and waits for its answer.
pub async fn relay(gateway_id: &str, command: &Command) -> Result<Answer, RelayError> {
    let unavailable = |why: String| {
        eprintln!("hub relay to {gateway_id}: {why}");
        RelayError::HubUnavailable
    };
    let request = post(
        &format!("/internal/gateways/{gateway_id}/commands"),
        command.to_json(),
    )
    .map_err(unavailable)?;
    let response = outbound::send(request, TIMEOUT)
        .await
        .map_err(|e| match e {
            outbound::OutboundError::Timeout => RelayError::Timeout,
            outbound::OutboundError::Failed(why) => unavailable(why),
        })?;
    match *response.status() {
        200 => serde_json::from_slice(response.body())
            .map_err(|e| unavailable(format!("unexpected answer: {e}"))),
        503 if error_code(response.body()) == Some("gateway_offline".into()) => {
            Err(RelayError::Offline)
        }
        504 => Err(RelayError::Timeout),
        status => Err(unavailable(format!("HTTP {status}"))),
    }
}

/// Tells the hub that access ended, so it closes the terminals concerned at once. A failure
/// is logged, not returned: what the caller changed stands, and terminals already open then
/// stay open until they close on their own (no new ticket can be had for them).
pub async fn revoke(revocation: &Revocation) {
    let body = match serde_json::to_string(revocation) {
        Ok(body) => body,
        Err(e) => {
            eprintln!("hub revocation {revocation:?}: {e}");
            return;
        }
    };
    let outcome = match post("/internal/revoke", body) {
        Ok(request) => outbound::send(request, REVOKE_TIMEOUT)
            .await
            .map_err(|e| e.to_string()),
        Err(why) => Err(why),
    };
    match outcome {
        Ok(response) if *response.status() == 200 => {}
        Ok(response) => eprintln!(
            "hub revocation {revocation:?}: HTTP {}; open terminals stay open",
            response.status()
        ),
        Err(why) => eprintln!("hub revocation {revocation:?}: {why}; open terminals stay open"),
    }
}

/// A JSON `POST` of `body` to the hub's `path`, with the shared secret.
fn post(path: &str, body: String) -> Result<Request, String> {
    let base = config::optional("hub_url").ok_or("hub_url is not set")?;
    let secret = config::optional("hub_secret").ok_or("hub_secret is not set")?;
    Ok(Request::builder()
        .method(Method::Post)
        .uri(format!("{}{path}", base.trim_end_matches('/')))
        .header("authorization", format!("Bearer {secret}"))
        .header("content-type", "application/json")
        .body(body)
        .build())
}

fn error_code(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value["error"]["code"].as_str().map(str::to_owned)
}
