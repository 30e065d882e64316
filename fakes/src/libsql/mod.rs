//! A libSQL server for tests: Hrana 3 over HTTP with JSON (libSQL's published protocol,
//! `docs/HRANA_3_SPEC.md` in tursodatabase/libsql) over a real SQLite file. No libSQL server
//! installs from this machine's registries, so this is what the runtime's libSQL client is
//! tested against.
//!
//! - `GET /v3` answers 200: version 3 with JSON is spoken.
//! - `POST /v3/pipeline {"baton", "requests"}`: a `null` baton opens a stream (its own SQLite
//!   connection); each answer carries a new, unguessable baton for the next request, or
//!   `null` once the stream is closed. Requests: `execute`, `batch` (with conditions),
//!   `sequence`, `get_autocommit`, `close`; each answers `ok` or `error` in order.
//! - `Authorization: Bearer <token>` is required when the server has a token (401 otherwise).
//! - A stream idle for [`LibsqlConfig::stream_expiry`] is closed and its open transaction
//!   rolled back, as the spec asks; its baton then answers 400.

mod hrana;
mod streams;

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

use self::streams::Streams;
use crate::common::server::FakeServer;

/// How a libSQL server is set up.
#[derive(Debug, Clone)]
pub struct LibsqlConfig {
    /// The SQLite file it serves.
    pub path: PathBuf,
    /// The bearer token it requires; empty requires none.
    pub token: String,
    /// How long an idle stream lives.
    pub stream_expiry: Duration,
    /// Streams open at once; past it a new one is refused.
    pub max_streams: usize,
}

impl LibsqlConfig {
    /// A server of `path` requiring `token`, with the spec's short idle expiry.
    pub fn new(path: impl Into<PathBuf>, token: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            token: token.into(),
            stream_expiry: Duration::from_secs(10),
            max_streams: 128,
        }
    }
}

/// What tests can see of a running server.
#[derive(Debug, Clone)]
pub struct LibsqlHandle {
    streams: Arc<Streams>,
}

impl LibsqlHandle {
    /// Streams open right now.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }
}

#[derive(Clone)]
struct Shared {
    token: Arc<str>,
    streams: Arc<Streams>,
}

/// Starts the server on `listen` (port 0 picks a free port) on its own thread.
pub fn spawn_on(
    config: LibsqlConfig,
    listen: SocketAddr,
) -> anyhow::Result<(FakeServer, LibsqlHandle)> {
    let listener = FakeServer::bind(listen)?;
    let streams = Arc::new(Streams::new(
        config.path,
        config.stream_expiry,
        config.max_streams,
    ));
    let shared = Shared {
        token: config.token.into(),
        streams: streams.clone(),
    };
    let app = Router::new()
        .route("/v3", get(|| async { StatusCode::OK }))
        .route("/v3/pipeline", post(pipeline))
        .with_state(shared);
    let server = FakeServer::serve(listener, app)?;
    Ok((server, LibsqlHandle { streams }))
}

/// Starts the server on `127.0.0.1:0`, for synchronous tests.
///
/// # Panics
/// If no loopback port can be bound.
pub fn spawn(config: LibsqlConfig) -> (FakeServer, LibsqlHandle) {
    spawn_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).expect("starting the libSQL server")
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

async fn pipeline(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if !shared.token.is_empty() {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if presented != Some(&*shared.token) {
            return error(
                StatusCode::UNAUTHORIZED,
                "Authentication failed: the token is missing or wrong",
            );
        }
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("The body is not JSON: {e}"),
            );
        }
    };
    let Some(requests) = request.get("requests").and_then(Value::as_array).cloned() else {
        return error(StatusCode::BAD_REQUEST, "The body has no `requests` array");
    };
    let baton = match request.get("baton") {
        None | Some(Value::Null) => None,
        Some(Value::String(baton)) => Some(baton.clone()),
        Some(_) => return error(StatusCode::BAD_REQUEST, "`baton` must be a string or null"),
    };
    let streams = shared.streams.clone();
    let outcome =
        tokio::task::spawn_blocking(move || streams.run(baton.as_deref(), &requests)).await;
    match outcome {
        Ok(Ok((baton, results))) => Json(json!({
            "baton": baton,
            "base_url": null,
            "results": results,
        }))
        .into_response(),
        Ok(Err(refusal)) => error(refusal.status, &refusal.message),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the stream task failed: {e}"),
        ),
    }
}
