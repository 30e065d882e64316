//! The gateway's outer loop: dial, serve the connection, wait out the back-off, dial again,
//! until the simulator stops.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::SimConfig;
use crate::connection::{self, End};
use crate::dial;
use crate::state::Shared;

/// Shortest wait between dials, whatever the configured back-off says.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// Runs until `shutdown` changes or its sender is dropped.
pub(crate) async fn run(
    shared: Arc<Shared>,
    config: SimConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut delay = config.backoff.initial;
    loop {
        shared.dialed();
        let dialed = tokio::select! {
            dialed = dial::dial(&config) => dialed,
            _ = shutdown.changed() => return,
        };
        match dialed {
            Ok(socket) => {
                tracing::info!(url = %config.cp_url, "connected");
                delay = config.backoff.initial;
                if connection::serve(socket, &shared, &config, &mut shutdown).await == End::Stopped
                {
                    tracing::info!("stopped");
                    return;
                }
                tracing::info!(retry_in = ?delay, "disconnected");
            }
            Err(err) => tracing::warn!(%err, retry_in = ?delay, "dial failed"),
        }
        let wait = delay.max(MIN_WAIT);
        delay = delay.saturating_mul(2).min(config.backoff.max);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}
