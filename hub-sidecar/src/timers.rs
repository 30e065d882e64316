//! The hub's periodic work: closing idle browsers and forgetting stale relay answers, and
//! calling the app's sweeps (provisioning timeouts, disconnected sessions; the budget guard's
//! power-offs).

use std::sync::Arc;

use tokio::sync::watch;

use crate::hub::Hub;

/// Starts both loops; they end when `stop` turns true.
pub fn spawn(hub: &Arc<Hub>, stop: &watch::Receiver<bool>) {
    tokio::spawn(housekeeping(hub.clone(), stop.clone()));
    tokio::spawn(app_sweep(hub.clone(), stop.clone()));
}

async fn housekeeping(hub: Arc<Hub>, mut stop: watch::Receiver<bool>) {
    let timers = hub.config.timers;
    let mut ticker = tokio::time::interval(timers.idle_sweep);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        let idle_ms = u64::try_from(timers.browser_idle.as_millis()).unwrap_or(u64::MAX);
        let cutoff = hub.clock_ms().saturating_sub(idle_ms);
        let mut closed = 0;
        for gateway in hub.all() {
            closed += gateway.close_idle(cutoff);
            gateway.expire(timers.relay_memory);
        }
        hub.forget_unused();
        if closed > 0 {
            tracing::info!(closed, "closed idle browsers");
        }
    }
}

async fn app_sweep(hub: Arc<Hub>, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(hub.config.timers.app_sweep);
    // The first tick is immediate: let the app finish starting first.
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        match hub.app.sweep().await {
            Ok(outcome) => tracing::debug!(%outcome, "app sweep"),
            Err(e) => tracing::warn!("app sweep failed: {e}"),
        }
        match hub.app.billing_sweep().await {
            Ok(outcome) => tracing::debug!(%outcome, "billing sweep"),
            Err(e) => tracing::warn!("billing sweep failed: {e}"),
        }
    }
}
