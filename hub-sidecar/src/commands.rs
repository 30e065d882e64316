//! `POST /internal/gateways/:id/commands` (bearer `hub_secret`): relays one command to a
//! gateway and answers with its `ack` and typed answer. A repeated `request_id` gets the first
//! result instead of running twice.

use std::{sync::Arc, time::Instant};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use chatcode_core::{
    protocol::{MAX_TEXT_BYTES, parse_command},
    token::bearer_matches,
};
use serde_json::Value;

use crate::{errors::HubError, hub::Hub, relay::Begun};

/// Relays the command in the body.
pub async fn relay(
    State(hub): State<Arc<Hub>>,
    Path(gateway_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match run(&hub, &gateway_id, &headers, &body).await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn run(
    hub: &Hub,
    gateway_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, HubError> {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    if !bearer_matches(authorization, &hub.config.hub_secret) {
        return Err(HubError::Unauthorized(
            "missing or invalid credentials".into(),
        ));
    }
    if body.len() > MAX_TEXT_BYTES {
        return Err(HubError::PayloadTooLarge);
    }
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| HubError::BadRequest(format!("invalid JSON body: {e}")))?;
    let Some(object) = value.as_object_mut() else {
        return Err(HubError::BadRequest(
            "the body must be a command object".into(),
        ));
    };
    if !object.contains_key("request_id") {
        object.insert("request_id".into(), Value::String(hub.request_id()));
    }
    let command =
        parse_command(&value.to_string()).map_err(|e| HubError::BadRequest(e.to_string()))?;
    let gateway = hub
        .existing(gateway_id)
        .filter(|g| g.is_connected())
        .ok_or(HubError::GatewayOffline)?;
    let started = Instant::now();
    let mut answer = match gateway.with_relay(|relay| relay.begin(&command)) {
        None => {
            return Err(HubError::Unavailable(
                "too many commands in flight for this gateway",
            ));
        }
        Some(Begun::Repeat(rx)) => rx,
        Some(Begun::New(rx)) => {
            let text = command.to_json();
            if gateway
                .send(axum::extract::ws::Message::Text(text.into()))
                .is_err()
            {
                gateway.with_relay(|relay| relay.abandon(command.request_id()));
                return Err(HubError::GatewayOffline);
            }
            rx
        }
    };
    let waited = tokio::time::timeout(
        hub.config.timers.relay_timeout,
        answer.wait_for(Option::is_some),
    )
    .await;
    match waited {
        Ok(Ok(done)) => {
            hub.metrics.relayed(started.elapsed());
            serde_json::to_value(done.as_ref())
                .map_err(|_| HubError::Unavailable("cannot encode the answer"))
        }
        Ok(Err(_)) => Err(HubError::GatewayOffline),
        Err(_) => Err(HubError::GatewayTimeout),
    }
}
