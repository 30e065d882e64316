//! A simulator of the chatcode gateway daemon, for tests and local runs.
//!
//! It behaves as `PROTOCOL.md` describes the real (Go) gateway: it dials the control plane's
//! `/gw/connect` with `Authorization: Bearer <token>` and `X-Gateway-Id`, reconnects with
//! back-off, greets every connection with `gateway.hello` and a `session.snapshot` per live
//! session, reports `gateway.health`, answers every command with an `ack`, and runs a tiny
//! line-editing shell in each session whose output goes out as binary frames. Every message is
//! built from `chatcode_core::protocol`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), chatcode_gateway_sim::SimError> {
//! use std::time::Duration;
//! use chatcode_gateway_sim::{GatewaySim, SimConfig};
//!
//! let config = SimConfig::new("ws://127.0.0.1:3000/gw/connect", "gw-test", "token");
//! let sim = GatewaySim::start(config);
//! sim.wait_connected(Duration::from_secs(10)).await?;
//! sim.stop().await;
//! # Ok(()) }
//! ```
//!
//! # Tasks and channels
//!
//! ```text
//! SimHandle ──watch<bool> shutdown──────────▶ supervisor task (dial, back-off)
//!     │                                          └─ connection::serve (one per socket, inline)
//!     ├──mpsc(16) Control (+ oneshot reply)──▶ connection::serve
//!     └──Arc<Shared>: std Mutex<Inner>, watch<Status> ◀── both tasks
//! ```
//!
//! The graph has no cycle: the connection answers the handle only through `oneshot`s, and
//! nothing awaits while holding the `Shared` lock.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod clock;
mod commands;
mod config;
mod connection;
mod dial;
mod handle;
mod health;
mod outbox;
mod session;
mod ssh;
mod state;
mod supervisor;
mod terminal;

use std::sync::Arc;

use tokio::sync::watch;

pub use commands::END_EXIT_CODE;
pub use config::{
    Backoff, ConfigError, DEFAULT_GO_VERSION, DEFAULT_VERSION, SimConfig, parse_env_file,
    parse_interval,
};
pub use dial::GATEWAY_ID_HEADER;
pub use handle::{SimError, SimHandle};
pub use session::{DEFAULT_COLS, DEFAULT_ROWS, SessionInfo};
pub use state::{COMMAND_LOG_LEN, SessionState};

/// Starts simulated gateways.
#[derive(Debug, Clone, Copy)]
pub struct GatewaySim;

impl GatewaySim {
    /// Starts a gateway on a fresh VPS; it dials at once. Call inside a tokio runtime.
    pub fn start(config: SimConfig) -> SimHandle {
        GatewaySim::start_with(config, SessionState::fresh())
    }

    /// Starts a gateway whose VPS still has `state` (its tmux sessions survived a restart of
    /// the gateway process); it sends a snapshot of each on connect and goes on with its `seq`.
    pub fn start_with(config: SimConfig, state: SessionState) -> SimHandle {
        let shared = Arc::new(state::Shared::new(state));
        let (shutdown, stopping) = watch::channel(false);
        let task = tokio::spawn(supervisor::run(shared.clone(), config, stopping));
        SimHandle::new(shared, shutdown, task)
    }
}
