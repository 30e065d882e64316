//! The batch the hub posts to `POST /internal/gateways/:id/events`: what happened to one
//! gateway's connection, and the gateway events the app records, in the order they
//! happened. The hub coalesces bursts (a health storm) into one batch.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most entries one batch may hold.
pub const MAX_BATCH_EVENTS: usize = 500;
/// Largest batch body, in bytes.
pub const MAX_BATCH_BYTES: usize = 2 << 20;

/// One batch of a gateway's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBatch {
    /// In the order they happened.
    pub events: Vec<HubEvent>,
}

/// One entry of a batch; `at` is when the hub saw it (unix ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HubEvent {
    /// The gateway's socket opened.
    Connected {
        /// Unix ms.
        at: i64,
    },
    /// The gateway's socket closed.
    Disconnected {
        /// Unix ms.
        at: i64,
    },
    /// A JSON event the gateway sent (`gateway.hello`, `gateway.health`,
    /// `session.started|ended|error`), as it sent it.
    Gateway {
        /// Unix ms.
        at: i64,
        /// The gateway's event object.
        event: Value,
    },
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wire_shape() {
        let batch = EventBatch {
            events: vec![
                HubEvent::Connected { at: 1 },
                HubEvent::Gateway {
                    at: 2,
                    event: json!({"type": "gateway.health"}),
                },
                HubEvent::Disconnected { at: 3 },
            ],
        };
        let wire = serde_json::to_value(&batch).unwrap();
        assert_eq!(
            wire,
            json!({"events": [
                {"kind": "connected", "at": 1},
                {"kind": "gateway", "at": 2, "event": {"type": "gateway.health"}},
                {"kind": "disconnected", "at": 3},
            ]})
        );
        assert_eq!(serde_json::from_value::<EventBatch>(wire).unwrap(), batch);
    }
}
