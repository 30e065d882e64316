//! One gateway's events on their way to the app: a bounded queue, in order, with the newest
//! `gateway.health` replacing any older one still queued. Batches are taken by bytes, below the
//! app's body limit.
//!
//! When the queue is full, health goes first: a new report is dropped, or a queued one makes
//! room for a connection or `session.*` event, which is never dropped. A gateway whose own
//! events go past its cap (queue full, or more than its rate) is flooding, and its socket is
//! closed; what it sent before stays queued.

use std::collections::VecDeque;

use chatcode_core::hub_events::{HubEvent, MAX_BATCH_BYTES, MAX_BATCH_EVENTS};

use crate::rate::{Rate, TokenBucket};

/// Largest batch body the hub posts: half the app's limit, so one more event always fits.
pub const BATCH_BYTES: usize = MAX_BATCH_BYTES / 2;

/// How much one gateway may have queued, and how fast its own events may come.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueCaps {
    /// Events queued at most.
    pub events: usize,
    /// Bytes (as posted) queued at most.
    pub bytes: usize,
    /// The gateway's own recorded events (all but health), per second with a burst.
    pub rate: Rate,
}

impl Default for QueueCaps {
    fn default() -> Self {
        Self {
            events: 1000,
            bytes: 4 * 1024 * 1024,
            rate: Rate {
                per_second: 100.0,
                burst: 1000.0,
            },
        }
    }
}

/// Where an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The gateway sent it: it counts against the gateway's caps.
    Gateway,
    /// The hub saw the connection change: always queued.
    Hub,
}

/// What became of an offered event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offered {
    /// It was queued.
    pub queued: bool,
    /// Health reports dropped to make room, or the offered one if it was a health report.
    pub dropped_health: u64,
    /// A queued health report it replaced.
    pub coalesced: bool,
    /// The gateway went past its cap: close its socket (the event was still queued).
    pub flooding: bool,
}

struct Queued {
    /// The event as posted (one element of the batch's `events`).
    json: String,
    health: bool,
}

/// One gateway's queue.
pub struct EventQueue {
    items: VecDeque<Queued>,
    bytes: usize,
    caps: QueueCaps,
    bucket: TokenBucket,
    /// Whether a task is delivering this queue.
    pub flushing: bool,
}

impl EventQueue {
    /// An empty queue with `caps`.
    pub fn new(caps: QueueCaps) -> Self {
        Self {
            items: VecDeque::new(),
            bytes: 0,
            caps,
            bucket: TokenBucket::new(caps.rate),
            flushing: false,
        }
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Queues `event` as the rules above say.
    pub fn offer(&mut self, event: &HubEvent, source: Source) -> Offered {
        let health = is_health(event);
        // A struct of strings, integers and JSON values always serializes.
        let json = serde_json::to_string(event).unwrap_or_default();
        let mut offered = Offered::default();
        if health && let Some(at) = self.items.iter().position(|q| q.health) {
            self.remove(at);
            offered.coalesced = true;
        }
        if !health && source == Source::Gateway && !self.bucket.take(1.0) {
            offered.flooding = true;
        }
        while self.is_full(json.len()) {
            match self.items.iter().position(|q| q.health) {
                Some(at) => {
                    self.remove(at);
                    offered.dropped_health += 1;
                }
                None => break,
            }
        }
        if self.is_full(json.len()) {
            if health {
                offered.dropped_health += 1;
                return offered;
            }
            offered.flooding |= source == Source::Gateway;
        }
        self.bytes += json.len();
        self.items.push_back(Queued { json, health });
        offered.queued = true;
        offered
    }

    /// Takes the oldest events whose batch body stays within [`BATCH_BYTES`] and
    /// [`MAX_BATCH_EVENTS`] (at least one): the body to post and how many events it holds.
    /// `None` when the queue is empty.
    pub fn take_batch(&mut self) -> Option<(Vec<u8>, usize)> {
        const FRAME: &[u8] = b"{\"events\":[]}";
        let first = self.items.pop_front()?;
        self.bytes -= first.json.len();
        let mut body = Vec::with_capacity(FRAME.len() + first.json.len());
        body.extend_from_slice(b"{\"events\":[");
        body.extend_from_slice(first.json.as_bytes());
        let mut count = 1;
        while count < MAX_BATCH_EVENTS {
            let Some(next) = self.items.front() else {
                break;
            };
            if body.len() + 1 + next.json.len() + 2 > BATCH_BYTES {
                break;
            }
            if let Some(next) = self.items.pop_front() {
                self.bytes -= next.json.len();
                body.push(b',');
                body.extend_from_slice(next.json.as_bytes());
                count += 1;
            }
        }
        body.extend_from_slice(b"]}");
        Some((body, count))
    }

    fn is_full(&self, adding: usize) -> bool {
        self.items.len() >= self.caps.events || self.bytes + adding > self.caps.bytes
    }

    fn remove(&mut self, at: usize) {
        if let Some(gone) = self.items.remove(at) {
            self.bytes -= gone.json.len();
        }
    }
}

fn is_health(event: &HubEvent) -> bool {
    matches!(event, HubEvent::Gateway { event, .. } if event["type"] == "gateway.health")
}

#[cfg(test)]
mod tests {
    use chatcode_core::hub_events::EventBatch;
    use serde_json::json;

    use super::*;

    fn health(at: i64) -> HubEvent {
        HubEvent::Gateway {
            at,
            event: json!({"type": "gateway.health"}),
        }
    }

    fn ended(at: i64) -> HubEvent {
        HubEvent::Gateway {
            at,
            event: json!({"type": "session.ended", "session_id": "ses-1"}),
        }
    }

    fn drain(queue: &mut EventQueue) -> Vec<HubEvent> {
        let mut all = Vec::new();
        while let Some((body, count)) = queue.take_batch() {
            let batch: EventBatch = serde_json::from_slice(&body).unwrap();
            assert_eq!(batch.events.len(), count);
            all.extend(batch.events);
        }
        all
    }

    fn caps(events: usize, bytes: usize) -> QueueCaps {
        QueueCaps {
            events,
            bytes,
            ..QueueCaps::default()
        }
    }

    #[test]
    fn keeps_order_and_only_the_newest_health() {
        let mut queue = EventQueue::new(QueueCaps::default());
        queue.offer(&HubEvent::Connected { at: 1 }, Source::Hub);
        queue.offer(&health(2), Source::Gateway);
        queue.offer(&ended(3), Source::Gateway);
        let offered = queue.offer(&health(4), Source::Gateway);
        assert!(offered.queued && offered.coalesced);
        queue.offer(&HubEvent::Disconnected { at: 5 }, Source::Hub);
        assert_eq!(
            drain(&mut queue),
            vec![
                HubEvent::Connected { at: 1 },
                ended(3),
                health(4),
                HubEvent::Disconnected { at: 5 }
            ]
        );
        assert!(queue.is_empty());
    }

    #[test]
    fn when_full_health_goes_first_and_session_events_stay() {
        let mut queue = EventQueue::new(caps(3, usize::MAX));
        queue.offer(&ended(1), Source::Gateway);
        queue.offer(&health(2), Source::Gateway);
        queue.offer(&ended(3), Source::Gateway);
        // Full: a session event evicts the queued health report.
        let offered = queue.offer(&ended(4), Source::Gateway);
        assert_eq!((offered.queued, offered.dropped_health), (true, 1));
        assert!(!offered.flooding);
        // Full of session events: a new health report is dropped…
        let offered = queue.offer(&health(5), Source::Gateway);
        assert_eq!((offered.queued, offered.dropped_health), (false, 1));
        // …and another session event is kept, but the gateway is flooding.
        let offered = queue.offer(&ended(6), Source::Gateway);
        assert!(offered.queued && offered.flooding);
        // The hub's own events are kept and never make the gateway a flooder.
        let offered = queue.offer(&HubEvent::Disconnected { at: 7 }, Source::Hub);
        assert!(offered.queued && !offered.flooding);
        assert_eq!(
            drain(&mut queue),
            vec![
                ended(1),
                ended(3),
                ended(4),
                ended(6),
                HubEvent::Disconnected { at: 7 }
            ]
        );
    }

    #[test]
    fn a_gateway_past_its_rate_is_flooding() {
        let mut queue = EventQueue::new(QueueCaps {
            rate: Rate {
                per_second: 0.001,
                burst: 2.0,
            },
            ..QueueCaps::default()
        });
        assert!(!queue.offer(&ended(1), Source::Gateway).flooding);
        assert!(!queue.offer(&ended(2), Source::Gateway).flooding);
        // Health reports are coalesced, not counted.
        for at in 0..10 {
            assert!(!queue.offer(&health(at), Source::Gateway).flooding);
        }
        assert!(queue.offer(&ended(3), Source::Gateway).flooding);
        assert_eq!(queue.items.len(), 4);
    }

    #[test]
    fn batches_are_bounded_by_bytes_and_count() {
        let mut queue = EventQueue::new(caps(usize::MAX, usize::MAX));
        let big = "x".repeat(200 * 1024);
        for at in 0..12 {
            let event = HubEvent::Gateway {
                at,
                event: json!({"type": "session.error", "session_id": "ses-1", "error": big}),
            };
            queue.offer(&event, Source::Hub);
        }
        let mut sizes = Vec::new();
        while let Some((body, count)) = queue.take_batch() {
            assert!(body.len() <= BATCH_BYTES, "{}", body.len());
            sizes.push(count);
        }
        assert_eq!(sizes.iter().sum::<usize>(), 12);
        assert!(sizes.len() >= 3, "{sizes:?}");

        for at in 0..(MAX_BATCH_EVENTS as i64 + 10) {
            queue.offer(&HubEvent::Connected { at }, Source::Hub);
        }
        assert_eq!(queue.take_batch().map(|(_, n)| n), Some(MAX_BATCH_EVENTS));
        assert_eq!(queue.take_batch().map(|(_, n)| n), Some(10));
        assert_eq!(queue.take_batch(), None);
    }

    #[test]
    fn the_byte_cap_counts_what_is_queued() {
        let one = serde_json::to_string(&ended(1)).unwrap().len();
        let mut queue = EventQueue::new(caps(usize::MAX, 2 * one));
        assert!(!queue.offer(&ended(1), Source::Gateway).flooding);
        assert!(!queue.offer(&ended(2), Source::Gateway).flooding);
        assert!(queue.offer(&ended(3), Source::Gateway).flooding);
        queue.take_batch();
        assert!(!queue.offer(&ended(4), Source::Gateway).flooding);
    }
}
