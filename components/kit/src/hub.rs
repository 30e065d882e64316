//! The hub's command relay as the components call it: `POST {hub_url}/internal/gateways/
//! :id/commands` with `hub_secret`, answered with the gateway's `ack` and typed answer.

use std::time::Duration;

use chatcode_core::{ApiError, ErrorKind, protocol::Command};
use serde::Deserialize;
use serde_json::Value;
use spin_sdk::http::{Method, Request};

use crate::{config, outbound};

/// Longer than the hub's own 10 s wait for an ack, so the hub's 504 arrives first.
const TIMEOUT: Duration = Duration::from_secs(15);

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
    let base =
        config::optional("hub_url").ok_or_else(|| unavailable("hub_url is not set".into()))?;
    let secret = config::optional("hub_secret")
        .ok_or_else(|| unavailable("hub_secret is not set".into()))?;
    let request = Request::builder()
        .method(Method::Post)
        .uri(format!(
            "{}/internal/gateways/{gateway_id}/commands",
            base.trim_end_matches('/')
        ))
        .header("authorization", format!("Bearer {secret}"))
        .header("content-type", "application/json")
        .body(command.to_json())
        .build();
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

fn error_code(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value["error"]["code"].as_str().map(str::to_owned)
}
