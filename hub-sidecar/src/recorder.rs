//! Delivers each gateway's queued events to the app (`POST /internal/gateways/:id/events`).
//!
//! Recording never waits: a socket's read loop only pushes onto its gateway's own queue
//! ([`crate::event_queue`]). One task per gateway with something queued drains it in batches,
//! in order, after a short batching window; a failed post is retried with back-off until the
//! app takes it (a batch the app refuses outright is dropped and counted). A few posts run at
//! once across all gateways, so a slow app slows only the recording. Nothing is posted before
//! the app has heard the hub started ([`crate::timers`]), so no connection this hub records
//! is undone by that.

use std::{sync::Arc, time::Duration};

use chatcode_core::hub_events::HubEvent;
use tokio::sync::{Semaphore, watch};

use crate::{
    app::{AppClient, AppError},
    event_queue::{Offered, Source},
    gateway::Gateway,
    metrics::Metrics,
};

/// Posts to the app in flight at once, over all gateways.
const CONCURRENT_POSTS: usize = 16;
/// First wait after a failed post; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Longest wait between two tries of the same batch.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Records events; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    app: Arc<AppClient>,
    metrics: Arc<Metrics>,
    posts: Arc<Semaphore>,
    flush_after: Duration,
    /// True once the app knows this hub started.
    app_ready: watch::Receiver<bool>,
}

impl Recorder {
    /// A recorder posting to `app` once `app_ready`, batching for `flush_after`.
    pub fn new(
        app: Arc<AppClient>,
        metrics: Arc<Metrics>,
        flush_after: Duration,
        app_ready: watch::Receiver<bool>,
    ) -> Self {
        Self {
            app,
            metrics,
            posts: Arc::new(Semaphore::new(CONCURRENT_POSTS)),
            flush_after,
            app_ready,
        }
    }

    /// Queues `event` of `gateway` without waiting, and starts its delivery if none is
    /// running. The caller closes the gateway's socket when [`Offered::flooding`].
    pub fn record(&self, gateway: &Arc<Gateway>, event: HubEvent, source: Source) -> Offered {
        let (offered, start) = gateway.queue_event(&event, source);
        self.metrics.events_offered(&offered);
        if start {
            tokio::spawn(self.clone().deliver(gateway.clone()));
        }
        offered
    }

    /// Drains `gateway`'s queue, then ends (the queue says so under its lock, so an event
    /// queued meanwhile starts a new task).
    async fn deliver(mut self, gateway: Arc<Gateway>) {
        tokio::time::sleep(self.flush_after).await;
        if self.app_ready.wait_for(|ready| *ready).await.is_err() {
            return;
        }
        while let Some((body, count)) = gateway.take_batch() {
            self.post(&gateway.id, body, count).await;
        }
    }

    /// Posts one batch until the app takes or refuses it.
    async fn post(&self, gateway_id: &str, body: Vec<u8>, count: usize) {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let outcome = match self.posts.acquire().await {
                Ok(_permit) => self.app.record(gateway_id, body.clone()).await,
                Err(_) => return,
            };
            match outcome {
                Ok(()) => {
                    self.metrics.events_recorded(count);
                    return;
                }
                Err(AppError::Status(status)) if is_refusal(status) => {
                    tracing::error!(gateway_id, status, events = count, "the app refused events");
                    self.metrics.events_refused(count);
                    return;
                }
                Err(e) => {
                    self.metrics.app_error();
                    tracing::warn!(gateway_id, "recording events failed: {e}; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// A 4xx that trying again will not change (the gateway is gone, the batch is malformed).
pub fn is_refusal(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 408 | 429)
}
