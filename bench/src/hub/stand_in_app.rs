//! A stand-in for the app's internal routes the hub calls, so the hub runs without a real
//! app: gateway auth (200 for the benchmark's gateways and token), events, migrations and
//! sweep. It runs in the benchmark's own process, so a hub process's memory is the hub's
//! alone; its events route can be made slow.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::post,
};
use serde_json::{Value, json};

use super::{FLEET_PREFIX, GATEWAY_ID, GATEWAY_TOKEN, HUB_SECRET, USER_ID, VPS_ID};

/// The stand-in app, served until the process exits.
#[derive(Clone)]
pub struct StandInApp {
    /// Where it answers.
    pub addr: SocketAddr,
    /// Milliseconds the events route waits before it answers.
    events_delay: Arc<AtomicU64>,
}

impl StandInApp {
    /// Serves it on `127.0.0.1:0`.
    pub async fn serve() -> anyhow::Result<Self> {
        let events_delay = Arc::new(AtomicU64::new(0));
        let app = Router::new()
            .route("/internal/gateways/auth", post(auth))
            .route("/internal/gateways/{id}/events", post(events))
            .route("/internal/sweep", post(sweep))
            .route("/internal/migrate", post(migrate))
            .with_state(events_delay.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the stand-in app")?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("stand-in app stopped: {e}");
            }
        });
        Ok(Self { addr, events_delay })
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Makes each events post wait `delay` before it is answered.
    pub fn slow_events(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.events_delay.store(ms, Ordering::Relaxed);
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {HUB_SECRET}"))
}

async fn auth(headers: HeaderMap, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let gateway = body["gateway_id"].as_str().unwrap_or_default();
    let ours = gateway == GATEWAY_ID || gateway.starts_with(FLEET_PREFIX);
    if !authorized(&headers) || !ours || body["token"] != GATEWAY_TOKEN {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "unauthorized" })),
        );
    }
    (
        StatusCode::OK,
        Json(json!({ "vps_id": VPS_ID, "user_id": USER_ID })),
    )
}

async fn events(
    State(delay): State<Arc<AtomicU64>>,
    headers: HeaderMap,
    Path(_id): Path<String>,
) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({})));
    }
    let delay = delay.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    (StatusCode::OK, Json(json!({ "recorded": true })))
}

/// As the app answers once its schema is current: nothing applied.
async fn migrate(headers: HeaderMap) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({})));
    }
    (
        StatusCode::OK,
        Json(json!({ "applied": [], "schema_version": 1 })),
    )
}

async fn sweep(headers: HeaderMap) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({})));
    }
    (StatusCode::OK, Json(json!({ "swept": 0 })))
}
