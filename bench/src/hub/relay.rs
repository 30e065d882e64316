//! P4: the command relay's latency at a fixed request rate, posted straight to the hub's
//! `POST /internal/gateways/:id/commands`.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use serde_json::{Value, json};

use crate::open_loop;

/// Relays `command(n)` to `gateway_id` through the hub at `addr`, `rate` times a second for
/// `duration`; every answer must be a 200 with an ok `ack`. Returns each request's latency.
pub async fn measure(
    http: &reqwest::Client,
    addr: SocketAddr,
    gateway_id: &str,
    secret: &str,
    rate: u32,
    duration: Duration,
    command: impl Fn(u64) -> Value,
) -> anyhow::Result<Vec<Duration>> {
    let url: Arc<str> = format!("http://{addr}/internal/gateways/{gateway_id}/commands").into();
    let secret: Arc<str> = secret.into();
    open_loop::drive(rate, duration, |n| {
        let sent = http
            .post(&*url)
            .bearer_auth(&*secret)
            .json(&command(n))
            .send();
        async move {
            let response = sent.await.context("relay request failed")?;
            let status = response.status();
            let body: Value = response.json().await.context("relay answer")?;
            anyhow::ensure!(
                status == reqwest::StatusCode::OK && body["ack"]["ok"] == true,
                "relay answered {status}: {body}"
            );
            Ok(())
        }
    })
    .await
}

/// A `session.resize` for `session_id` with a request id unique to this process and `n`.
pub fn resize(session_id: &str, n: u64) -> Value {
    json!({
        "type": "session.resize",
        "schema_version": "1",
        "request_id": format!("bench-{}-resize-{n}", std::process::id()),
        "session_id": session_id,
        "cols": 120,
        "rows": 40,
    })
}

/// A `session.snapshot` for `session_id` with a request id unique to this process and `n`.
pub fn snapshot(session_id: &str, n: u64) -> Value {
    json!({
        "type": "session.snapshot",
        "schema_version": "1",
        "request_id": format!("bench-{}-snapshot-{n}", std::process::id()),
        "session_id": session_id,
    })
}
