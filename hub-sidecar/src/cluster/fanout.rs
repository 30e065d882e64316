//! What this hub sends the browsers of one other hub: one queue per hub, fed by those
//! browsers' outboxes in the order the sessions push, where consecutive pushes of the same
//! message (a frame fanned out to every browser of a session, one after the other) become one
//! record with the list of its bridges. One publisher per hub drains it, so a frame crosses
//! Redis once per hub and session, while each browser keeps its own budget (and with it its
//! catch-up, `gap` and eviction) on the owner.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::extract::ws::{CloseFrame, Message};
use bytes::BytesMut;
use tokio::sync::Notify;

use super::{Cluster, lock, wire::Header, wire::put_group};
use crate::{
    metrics::Metrics,
    outbox::{Charge, PushError, SharedQueue, Waiter, close, message_len},
};

/// Bytes one hub's queue holds at most (each coalesced record counted once); frames stop at
/// half, as in a browser's own queue.
const MAX_QUEUE_BYTES: usize = 16 * 1024 * 1024;
/// Bytes of records one pub/sub message carries at most (one record may exceed it alone).
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// How long a publisher with nothing to send and no browser left waits before it ends.
const IDLE: Duration = Duration::from_secs(30);

/// One message and the bridges it goes to, each with its outbox's charge (none for a close).
#[derive(Debug)]
struct Record {
    message: Message,
    bridges: Vec<(u64, Option<Charge>)>,
}

#[derive(Debug, Default)]
struct Pending {
    records: VecDeque<Record>,
    /// Bytes of the queued records, each counted once.
    bytes: usize,
    /// Outboxes waiting for the queue to go under half.
    waiting: HashMap<usize, Waiter>,
}

impl Pending {
    fn below_half(&self) -> bool {
        self.bytes * 2 < MAX_QUEUE_BYTES
    }
}

/// The queue of what goes to one other hub's browsers.
#[derive(Debug)]
pub struct PeerQueue {
    /// The hub.
    to: String,
    pending: Mutex<Pending>,
    ready: Notify,
}

/// What one pub/sub message takes off a queue.
struct Batch {
    body: BytesMut,
    charges: Vec<Charge>,
    waiters: Vec<Waiter>,
    records: usize,
    deliveries: usize,
}

/// Whether `a` and `b` hold the very same bytes (clones of one message), not merely equal ones.
fn same_payload(a: &Message, b: &Message) -> bool {
    let (a, b): (&[u8], &[u8]) = match (a, b) {
        (Message::Binary(a), Message::Binary(b)) => (a, b),
        (Message::Text(a), Message::Text(b)) => (a.as_bytes(), b.as_bytes()),
        _ => return false,
    };
    !a.is_empty() && a.len() == b.len() && std::ptr::eq(a.as_ptr(), b.as_ptr())
}

impl PeerQueue {
    fn new(to: &str) -> Self {
        Self {
            to: to.to_owned(),
            pending: Mutex::new(Pending::default()),
            ready: Notify::new(),
        }
    }

    fn is_empty(&self) -> bool {
        lock(&self.pending).records.is_empty()
    }

    fn enqueue(&self, pending: &mut Pending, record: Record) {
        pending.bytes += message_len(&record.message);
        pending.records.push_back(record);
        self.ready.notify_one();
    }

    /// Records for one message, in order; the waiters to wake once it is sent.
    fn take(&self) -> Option<Batch> {
        let mut pending = lock(&self.pending);
        let mut batch = Batch {
            body: BytesMut::new(),
            charges: Vec::new(),
            waiters: Vec::new(),
            records: 0,
            deliveries: 0,
        };
        while batch.records == 0 || batch.body.len() < MAX_MESSAGE_BYTES {
            let Some(record) = pending.records.pop_front() else {
                break;
            };
            pending.bytes -= message_len(&record.message);
            let ids: Vec<u64> = record.bridges.iter().map(|(id, _)| *id).collect();
            put_group(&mut batch.body, &ids, &record.message);
            batch.records += 1;
            batch.deliveries += ids.len();
            batch
                .charges
                .extend(record.bridges.into_iter().filter_map(|(_, charge)| charge));
        }
        if batch.records == 0 {
            return None;
        }
        if pending.below_half() {
            batch.waiters = pending.waiting.drain().map(|(_, waiter)| waiter).collect();
        }
        Some(batch)
    }
}

impl SharedQueue for PeerQueue {
    fn push(&self, id: u64, message: Message, charge: Charge) -> Result<(), PushError> {
        let mut pending = lock(&self.pending);
        if let Some(last) = pending.records.back_mut()
            && same_payload(&last.message, &message)
            && last.bridges.iter().all(|(bridge, _)| *bridge != id)
        {
            last.bridges.push((id, Some(charge)));
            return Ok(());
        }
        let len = message_len(&message);
        if pending.bytes + len > MAX_QUEUE_BYTES && pending.bytes > 0 {
            return Err(PushError::Full);
        }
        let record = Record {
            message,
            bridges: vec![(id, Some(charge))],
        };
        self.enqueue(&mut pending, record);
        Ok(())
    }

    fn close(&self, id: u64, code: u16, reason: &str) {
        let message = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let record = Record {
            message,
            bridges: vec![(id, None)],
        };
        self.enqueue(&mut lock(&self.pending), record);
    }

    fn below_half(&self) -> bool {
        lock(&self.pending).below_half()
    }

    fn wake_when_below_half(&self, waiter: Waiter) -> bool {
        let mut pending = lock(&self.pending);
        if pending.below_half() {
            return false;
        }
        pending.waiting.insert(waiter.key(), waiter);
        true
    }
}

impl Cluster {
    /// The queue to hub `to`'s browsers, with its publisher started if it had none.
    pub(super) fn peer_queue(self: &Arc<Self>, to: &str, metrics: &Arc<Metrics>) -> Arc<PeerQueue> {
        let mut queues = lock(&self.peer_queues);
        if let Some(queue) = queues.get(to) {
            return queue.clone();
        }
        let queue = Arc::new(PeerQueue::new(to));
        queues.insert(to.to_owned(), queue.clone());
        tokio::spawn(publish(self.clone(), queue.clone(), metrics.clone()));
        queue
    }

    /// Forgets `queue` if nothing feeds it any more (only this map and its publisher hold it)
    /// and it is empty; true then, and its publisher ends.
    fn retire(&self, queue: &Arc<PeerQueue>) -> bool {
        let mut queues = lock(&self.peer_queues);
        let unused = Arc::strong_count(queue) <= 2 && queue.is_empty();
        if unused {
            queues.remove(&queue.to);
        }
        unused
    }
}

/// Publishes `queue` to its hub's inbox, one message at a time, in order; if Redis fails, that
/// hub's browsers here are closed (1012) and reconnect.
async fn publish(cluster: Arc<Cluster>, queue: Arc<PeerQueue>, metrics: Arc<Metrics>) {
    loop {
        let Some(batch) = queue.take() else {
            if tokio::time::timeout(IDLE, queue.ready.notified())
                .await
                .is_err()
                && cluster.retire(&queue)
            {
                return;
            }
            continue;
        };
        let sent = cluster
            .send(&queue.to, &Header::ToBridges, &batch.body)
            .await;
        for charge in batch.charges {
            charge.release();
        }
        for waiter in batch.waiters {
            waiter.wake();
        }
        match sent {
            Ok(()) => metrics.bridged(batch.records, batch.deliveries),
            Err(e) => {
                tracing::warn!(hub = %queue.to, "cannot send to another hub's browsers: {e}");
                cluster.close_remotes(
                    |hub| hub == queue.to,
                    close::SERVICE_RESTART,
                    "this hub lost its redis",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::{
        cluster::wire::groups,
        outbox::{Outbox, QueueLimits},
    };

    #[test]
    fn consecutive_pushes_of_one_message_become_one_record() {
        let queue = Arc::new(PeerQueue::new("hub-a"));
        let limits = QueueLimits {
            messages: 8,
            bytes: 1024,
            write_timeout: Duration::from_secs(1),
        };
        let outboxes: Vec<Outbox> = (1..=3)
            .map(|id| Outbox::shared(queue.clone(), id, limits))
            .collect();
        let frame = Message::Binary(Bytes::from_static(b"frame"));
        let twin = Message::Binary(Bytes::copy_from_slice(b"frame"));
        for outbox in &outboxes {
            outbox.push(frame.clone()).unwrap();
        }
        outboxes[0].push(twin.clone()).unwrap();
        outboxes[2].close(close::NORMAL, "bye");
        assert_eq!(outboxes[2].push(frame.clone()), Err(PushError::Closed));

        let batch = queue.take().unwrap();
        assert_eq!((batch.records, batch.deliveries), (3, 5));
        let sent = groups(batch.body.freeze()).unwrap();
        assert_eq!(sent[0], (vec![1, 2, 3], frame));
        assert_eq!(sent[1], (vec![1], twin));
        assert_eq!(sent[2].0, vec![3]);
        assert!(queue.take().is_none());
    }
}
