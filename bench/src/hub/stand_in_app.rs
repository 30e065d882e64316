//! A stand-in for the app's three internal routes the hub calls, so the hub runs without a
//! real app: gateway auth (200 for the benchmark's gateway and token), events and sweep.

use std::net::SocketAddr;

use anyhow::Context;
use axum::{
    Json, Router,
    extract::Path,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use serde_json::{Value, json};

use super::{GATEWAY_ID, GATEWAY_TOKEN, HUB_SECRET, USER_ID, VPS_ID};

/// Serves the stand-in app on `127.0.0.1:0` until the process exits; returns its address.
pub async fn serve() -> anyhow::Result<SocketAddr> {
    let app = Router::new()
        .route("/internal/gateways/auth", post(auth))
        .route("/internal/gateways/{id}/events", post(events))
        .route("/internal/sweep", post(sweep));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the stand-in app")?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("stand-in app stopped: {e}");
        }
    });
    Ok(addr)
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {HUB_SECRET}"))
}

async fn auth(headers: HeaderMap, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let known = body["gateway_id"] == GATEWAY_ID && body["token"] == GATEWAY_TOKEN;
    if !authorized(&headers) || !known {
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

async fn events(headers: HeaderMap, Path(_id): Path<String>) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({})));
    }
    (StatusCode::OK, Json(json!({ "recorded": true })))
}

async fn sweep(headers: HeaderMap) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({})));
    }
    (StatusCode::OK, Json(json!({ "swept": 0 })))
}
