//! The hub's periodic work: closing idle browsers, freeing ended and unwatched sessions,
//! forgetting stale relay answers, and calling the app's sweeps (provisioning timeouts,
//! disconnected sessions, the first time to say the hub started; the budget guard's
//! power-offs).

use std::sync::Arc;

use tokio::sync::watch;

use crate::{
    app::AppError,
    hub::Hub,
    recorder::{FIRST_BACKOFF, MAX_BACKOFF, is_refusal},
    session_hub::Release,
};

/// Starts both loops; they end when `stop` turns true.
pub fn spawn(hub: &Arc<Hub>, stop: &watch::Receiver<bool>) {
    tokio::spawn(housekeeping(hub.clone(), stop.clone()));
    tokio::spawn(app_sweep(hub.clone(), stop.clone()));
}

async fn housekeeping(hub: Arc<Hub>, mut stop: watch::Receiver<bool>) {
    let timers = hub.config.timers;
    let mut ticker = tokio::time::interval(timers.idle_sweep);
    let release = Release {
        linger: timers.session_linger,
        idle: timers.session_idle,
    };
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
            gateway.expire(timers.relay_memory, release);
        }
        hub.forget_unused();
        hub.with_revoked(|revoked| revoked.expire(std::time::Instant::now()));
        if closed > 0 {
            tracing::info!(closed, "closed idle browsers");
        }
    }
}

async fn app_sweep(hub: Arc<Hub>, mut stop: watch::Receiver<bool>) {
    tokio::select! {
        () = announce_start(&hub) => {}
        _ = stop.changed() => return,
    }
    let mut ticker = tokio::time::interval(hub.config.timers.app_sweep);
    // The first tick is immediate, and the start was just announced.
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        match hub.app.sweep(false).await {
            Ok(outcome) => tracing::debug!(%outcome, "app sweep"),
            Err(e) => tracing::warn!("app sweep failed: {e}"),
        }
        match hub.app.billing_sweep().await {
            Ok(outcome) => tracing::debug!(%outcome, "billing sweep"),
            Err(e) => tracing::warn!("billing sweep failed: {e}"),
        }
    }
}

/// Has the app apply its schema (as DESIGN.md asks of the hub at start-up), then tells it this
/// hub started (so gateways it has connected, through a hub now gone, are disconnected); each
/// retried with back-off until the app answers. Then events may be recorded.
async fn announce_start(hub: &Hub) {
    // A migration that fails answers 500 and fails again when asked again: the hub goes on
    // with the schema there is (the error is logged) rather than never recording an event.
    let failed_migration = |status| is_refusal(status) || status == 500;
    until_answered(
        hub,
        "applying the app's migrations",
        failed_migration,
        || hub.app.migrate(),
    )
    .await;
    // Several hubs: while another hub lives, the gateways it holds are connected; only a hub
    // starting alone tells the app to forget every connection.
    let alone = match &hub.cluster {
        Some(cluster) => match cluster.other_hubs_alive().await {
            Ok(others) => !others,
            Err(e) => {
                tracing::warn!("cannot ask redis for other hubs: {e}");
                true
            }
        },
        None => true,
    };
    until_answered(hub, "telling the app the hub started", is_refusal, || {
        hub.app.sweep(alone)
    })
    .await;
    hub.app_ready.send_replace(true);
}

/// Calls `call` until the app answers it, backing off while it is unreachable or failing; an
/// answer whose status is `final_status` (a refusal, say) is not asked again.
async fn until_answered<F, Fut>(hub: &Hub, what: &str, final_status: fn(u16) -> bool, call: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<serde_json::Value, AppError>>,
{
    let mut backoff = FIRST_BACKOFF;
    loop {
        match call().await {
            Ok(outcome) => {
                tracing::info!(%outcome, "{what}: done");
                return;
            }
            Err(AppError::Status(status)) if final_status(status) => {
                tracing::error!(
                    status,
                    "{what}: the app answered HTTP {status}; not asking again"
                );
                return;
            }
            Err(e) => {
                hub.metrics.app_error();
                tracing::warn!("{what} failed: {e}; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
