//! `POST /internal/gateways/:id/commands` (bearer `hub_secret`): relays one command to a
//! gateway and answers with its `ack` and typed answer. A repeated `request_id` gets the first
//! result instead of running twice. With several hubs, a gateway another hub holds is relayed
//! to through that hub.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use chatcode_core::{
    protocol::{Command, MAX_TEXT_BYTES, parse_command},
    token::bearer_matches,
};
use serde_json::Value;

use crate::{
    cluster::{Cluster, wire::Header},
    errors::HubError,
    hub::Hub,
    relay::Begun,
};

/// Relays the command in the body.
pub async fn relay(
    State(hub): State<Arc<Hub>>,
    Path(gateway_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match run(&hub, &gateway_id, &headers, &body).await {
        Ok(Relayed::Here(answer)) => Json(answer).into_response(),
        Ok(Relayed::Elsewhere((status, body))) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Where a command was relayed, and its answer.
enum Relayed {
    /// To a gateway on this hub.
    Here(Value),
    /// Through the hub holding the gateway: its status and JSON body, as it answered.
    Elsewhere((u16, Bytes)),
}

/// How much longer than its owner a hub waits for a relayed answer.
const RELAY_MARGIN: Duration = Duration::from_secs(2);

async fn run(
    hub: &Hub,
    gateway_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Relayed, HubError> {
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
    let here = hub.existing(gateway_id).is_some_and(|g| g.is_connected());
    if let (false, Some(cluster)) = (here, &hub.cluster) {
        let owner = cluster.remote_owner(gateway_id).await.map_err(|e| {
            tracing::warn!("cannot find the gateway's hub: {e}");
            HubError::Unavailable("the hub cannot reach redis")
        })?;
        if let Some(owner) = owner {
            return Ok(Relayed::Elsewhere(
                relay_elsewhere(hub, cluster, &owner, gateway_id, &command).await?,
            ));
        }
    }
    relay_here(hub, gateway_id, &command)
        .await
        .map(Relayed::Here)
}

/// Relays `command` to a gateway connected to this hub: its answer.
pub async fn relay_here(hub: &Hub, gateway_id: &str, command: &Command) -> Result<Value, HubError> {
    let gateway = hub
        .existing(gateway_id)
        .filter(|g| g.is_connected())
        .ok_or(HubError::GatewayOffline)?;
    let started = Instant::now();
    let mut answer = match gateway.with_relay(|relay| relay.begin(command)) {
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

/// Several hubs: relays `command` through `owner`, the hub holding the gateway; the status
/// and JSON body it answered.
async fn relay_elsewhere(
    hub: &Hub,
    cluster: &Cluster,
    owner: &str,
    gateway_id: &str,
    command: &Command,
) -> Result<(u16, Bytes), HubError> {
    let (id, answer) = cluster.begin_relay().ok_or(HubError::Unavailable(
        "too many commands in flight through other hubs",
    ))?;
    let header = Header::Relay {
        from: cluster.id.clone(),
        id,
        gateway_id: gateway_id.to_owned(),
    };
    let started = Instant::now();
    cluster
        .send(owner, &header, command.to_json().as_bytes())
        .await
        .map_err(|e| {
            tracing::warn!("cannot reach the gateway's hub: {e}");
            HubError::Unavailable("the hub cannot reach redis")
        })?;
    // The owner times out first and answers 504 itself; this covers an owner that died.
    let deadline = hub.config.timers.relay_timeout + RELAY_MARGIN;
    match tokio::time::timeout(deadline, answer).await {
        Ok(Ok(answer)) => {
            hub.metrics.relayed(started.elapsed());
            Ok(answer)
        }
        Ok(Err(_)) => Err(HubError::GatewayOffline),
        Err(_) => Err(HubError::GatewayTimeout),
    }
}
