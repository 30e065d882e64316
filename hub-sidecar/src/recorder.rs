//! Sends gateway and connection events to the app in batches: one task collects them for a
//! short while, keeps only the newest `gateway.health` of each gateway, and posts one batch
//! per gateway, so a health storm is not a write storm.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use chatcode_core::hub_events::{EventBatch, HubEvent, MAX_BATCH_EVENTS};
use tokio::sync::mpsc;

use crate::app::AppClient;

/// Events waiting to be recorded, at most.
const QUEUE: usize = 65_536;
/// Attempts to deliver one batch.
const ATTEMPTS: u32 = 3;

/// The sending side of the recorder.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<(String, HubEvent)>,
}

impl Recorder {
    /// Starts the recorder task.
    pub fn spawn(app: Arc<AppClient>, flush_after: Duration) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(app, rx, flush_after));
        Self { tx }
    }

    /// Queues an event that must not be lost (waits for room).
    pub async fn record(&self, gateway_id: &str, event: HubEvent) {
        if self.tx.send((gateway_id.to_owned(), event)).await.is_err() {
            tracing::warn!(gateway_id, "event recorder has stopped");
        }
    }

    /// Queues an event that may be dropped under pressure (health reports).
    pub fn offer(&self, gateway_id: &str, event: HubEvent) {
        if self.tx.try_send((gateway_id.to_owned(), event)).is_err() {
            tracing::debug!(
                gateway_id,
                "event recorder is full: dropping a health report"
            );
        }
    }
}

async fn run(
    app: Arc<AppClient>,
    mut rx: mpsc::Receiver<(String, HubEvent)>,
    flush_after: Duration,
) {
    while let Some(first) = rx.recv().await {
        let mut pending = vec![first];
        let deadline = tokio::time::Instant::now() + flush_after;
        while pending.len() < MAX_BATCH_EVENTS {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(event)) => pending.push(event),
                Ok(None) | Err(_) => break,
            }
        }
        for (gateway_id, events) in group(pending) {
            deliver(&app, &gateway_id, EventBatch { events }).await;
        }
    }
}

/// Groups events by gateway, in order, keeping only each gateway's newest health report.
fn group(events: Vec<(String, HubEvent)>) -> BTreeMap<String, Vec<HubEvent>> {
    let mut grouped: BTreeMap<String, Vec<HubEvent>> = BTreeMap::new();
    for (gateway_id, event) in events {
        let list = grouped.entry(gateway_id).or_default();
        if is_health(&event) {
            list.retain(|e| !is_health(e));
        }
        list.push(event);
    }
    grouped
}

fn is_health(event: &HubEvent) -> bool {
    matches!(event, HubEvent::Gateway { event, .. } if event["type"] == "gateway.health")
}

async fn deliver(app: &AppClient, gateway_id: &str, batch: EventBatch) {
    for attempt in 1..=ATTEMPTS {
        match app.record(gateway_id, &batch).await {
            Ok(()) => return,
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(
                    gateway_id,
                    attempt,
                    "recording events failed: {e}; retrying"
                );
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            Err(e) => tracing::error!(
                gateway_id,
                events = batch.events.len(),
                "recording events failed: {e}; dropped"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn health(at: i64) -> HubEvent {
        HubEvent::Gateway {
            at,
            event: json!({"type": "gateway.health"}),
        }
    }

    #[test]
    fn keeps_only_the_newest_health_per_gateway() {
        let grouped = group(vec![
            ("a".into(), HubEvent::Connected { at: 1 }),
            ("a".into(), health(2)),
            ("b".into(), health(3)),
            ("a".into(), health(4)),
            ("a".into(), HubEvent::Disconnected { at: 5 }),
        ]);
        assert_eq!(
            grouped["a"],
            vec![
                HubEvent::Connected { at: 1 },
                health(4),
                HubEvent::Disconnected { at: 5 }
            ]
        );
        assert_eq!(grouped["b"], vec![health(3)]);
    }
}
