//! chatcode hub: holds every gateway's WebSocket and every browser terminal, fans terminal
//! output out without head-of-line blocking, keeps a replay window per session for lossless
//! resume, and relays the app's commands to gateways.
//!
//! The hub owns no database: it asks the app through its internal routes (gateway auth,
//! events, sweep) and keeps only live state in memory, all of it bounded ([`Limits`]).
//!
//! # Tasks and queues
//!
//! ```text
//! gateway socket task ─ frames, events: Gateway lock, push ─▶ browser Outbox ─▶ browser writer
//!   │                  ─ queue_event (bounded EventQueue) ──▶ delivery task ──HTTP──▶ app
//!   └ link: snapshot asks ─ push ─▶ gateway Outbox ─▶ gateway writer
//! browser socket task ─ commands: push ─▶ gateway Outbox; drained (Notify) ◀─ browser writer
//! relay route ─ push ─▶ gateway Outbox; answer ◀─ watch ─ gateway socket task
//! timers: housekeeping; app sweep (its first call opens app_ready ─ watch ─▶ delivery tasks)
//! ```
//!
//! Every push is non-blocking (a full queue is the producer's decision, never a wait), writers
//! push to nobody, and delivery tasks only wait on the app: no cycle of waits, and nothing a
//! socket's read loop does waits on another peer or on the app.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
mod browser_socket;
pub mod cli;
pub mod cluster;
mod commands;
pub mod config;
mod errors;
mod event_queue;
mod gateway;
mod gateway_socket;
pub mod hub;
pub mod metrics;
pub mod outbox;
mod rate;
mod recorder;
mod relay;
pub mod replay;
mod revoke;
mod session_hub;
mod timers;
pub mod tls;

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Json, Router,
    extract::State,
    response::IntoResponse,
    routing::{get, post},
    serve::ListenerExt,
};
use serde_json::json;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

pub use config::{HubConfig, Limits, Timers};
pub use event_queue::QueueCaps;
pub use hub::Hub;
pub use rate::Rate;

/// The hub's routes.
pub fn router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/gw/connect", get(gateway_socket::connect))
        .route("/vps/{id}/terminal", get(browser_socket::attach))
        .route("/internal/gateways/{id}/commands", post(commands::relay))
        .route("/internal/revoke", post(revoke::revoke))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(hub)
}

async fn healthz(State(hub): State<Arc<Hub>>) -> impl IntoResponse {
    let gateways = hub.all();
    let connected = gateways.iter().filter(|g| g.is_connected()).count();
    let browsers: usize = gateways.iter().map(|g| g.browser_count()).sum();
    let sessions: usize = gateways.iter().map(|g| g.session_count()).sum();
    let mut health = json!({
        "status": "ok", "gateways": connected, "browsers": browsers, "sessions": sessions,
    });
    if let Some(cluster) = &hub.cluster {
        // Several hubs: which one this is, and how many gateways it holds in Redis.
        health["hub_id"] = json!(cluster.id);
        health["owned_gateways"] = json!(cluster.owned_count());
    }
    Json(health)
}

async fn metrics(State(hub): State<Arc<Hub>>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        hub.metrics.render(),
    )
}

/// A running hub.
pub struct Serving {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state.
    pub hub: Arc<Hub>,
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Serving {
    /// The hub's routes, for a front server that hands it some of its requests (WebSocket
    /// upgrades included).
    pub fn router(&self) -> Router {
        router(self.hub.clone())
    }

    /// Resolves once the app has heard this hub started (before that, events wait).
    pub async fn app_ready(&self) {
        let mut ready = self.hub.app_ready.subscribe();
        let _ = ready.wait_for(|ready| *ready).await;
    }

    /// Closes every socket with 1001 (gateways reconnect elsewhere), waits for their close
    /// frames to go out, and stops serving; at most [`SHUTDOWN_GRACE`] in all.
    pub async fn shutdown(self) {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        for gateway in self.hub.all() {
            gateway.close_all(outbox::close::GOING_AWAY, "the hub is shutting down");
        }
        // Upgraded sockets live apart from the server task: wait for their writers to flush.
        let drained = tokio::time::timeout_at(deadline, async {
            while self.hub.metrics.open_sockets() > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        });
        if drained.await.is_err() {
            tracing::warn!("hub sockets did not close within {SHUTDOWN_GRACE:?}");
        }
        let _ = self.stop.send(true);
        match tokio::time::timeout_at(deadline, self.task).await {
            Ok(Ok(Err(e))) => tracing::warn!("hub server ended with {e}"),
            Ok(_) => {}
            Err(_) => tracing::warn!("hub connections did not close within {SHUTDOWN_GRACE:?}"),
        }
    }
}

/// Longest [`Serving::shutdown`] waits for sockets and connections to close.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves a hub on `listener` until [`Serving::shutdown`].
pub fn serve(config: HubConfig, listener: TcpListener) -> std::io::Result<Serving> {
    start(config, listener, plain)
}

/// Serves a hub over TLS on `listener` until [`Serving::shutdown`], so gateways and browsers
/// dial `wss://` (see [`tls::load_server_config`]). A failed or slow handshake only ends that
/// connection.
pub fn serve_tls(
    config: HubConfig,
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
) -> std::io::Result<Serving> {
    start(config, listener, move |listener, app, stopped| {
        tls::serve(listener, tls, app, stopped)
    })
}

/// Starts the hub and its timers, and spawns `run` to serve its router until `stopped` turns
/// true.
fn start<F, S>(config: HubConfig, listener: TcpListener, run: F) -> std::io::Result<Serving>
where
    F: FnOnce(TcpListener, Router, watch::Receiver<bool>) -> S,
    S: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let addr = listener.local_addr()?;
    let cluster = match &config.redis_url {
        Some(url) => Some(
            cluster::Cluster::new(url, config.timers.claim_lease)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
        ),
        None => None,
    };
    let hub = Hub::new(config, cluster.clone());
    let (stop, stopped) = watch::channel(false);
    timers::spawn(&hub, &stopped);
    if let Some(cluster) = cluster {
        tokio::spawn(cluster::inbox::listen(
            hub.clone(),
            cluster.clone(),
            stopped.clone(),
        ));
        tokio::spawn(cluster::directory::upkeep(
            hub.clone(),
            cluster,
            stopped.clone(),
        ));
    }
    let task = tokio::spawn(run(listener, router(hub.clone()), stopped));
    Ok(Serving {
        addr,
        hub,
        stop,
        task,
    })
}

/// Plain HTTP through `axum::serve`, with graceful shutdown.
async fn plain(
    listener: TcpListener,
    app: Router,
    mut until: watch::Receiver<bool>,
) -> std::io::Result<()> {
    // Keystroke echoes are small writes right after other small writes: Nagle's algorithm
    // would hold them for the peer's delayed ACK.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = until.wait_for(|stop| *stop).await;
        })
        .await
}
