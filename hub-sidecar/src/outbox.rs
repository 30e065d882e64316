//! One writer task per socket, fed by a bounded queue with a byte budget, so whoever produces
//! messages never waits on a slow peer: a push either fits or fails at once, and the producer
//! decides. Output to a browser stops at half the queue ([`Outbox::below_watermark`]) and
//! resumes from the replay window when the writer wakes it ([`Outbox::drained`]), so the other
//! half always has room for its JSON messages.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, stream::SplitSink};
use tokio::sync::{Notify, mpsc, watch};

use crate::metrics::Metrics;

/// Most bytes written between two flushes.
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// WebSocket close codes the hub uses (named in the core crate, for the clients too).
pub use chatcode_core::protocol::close;

/// How a socket's queue is sized.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    /// Messages queued at most.
    pub messages: usize,
    /// Bytes queued at most.
    pub bytes: usize,
    /// Longest one write may take before the peer counts as stalled.
    pub write_timeout: Duration,
}

/// Why a message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The queue is over its message or byte budget.
    Full,
    /// The writer has stopped.
    Closed,
}

/// How full a queue is, shared by its producers and its writer.
#[derive(Debug)]
struct Level {
    bytes: AtomicUsize,
    messages: AtomicUsize,
    limits: QueueLimits,
    /// Someone waits for the queue to drain below half.
    wake: AtomicBool,
    drained: Notify,
}

impl Level {
    fn below_watermark(&self) -> bool {
        self.bytes.load(Ordering::Acquire) * 2 < self.limits.bytes
            && self.messages.load(Ordering::Acquire) * 2 < self.limits.messages
    }

    /// Wakes the waiter once the queue is below half (whichever side sees both first).
    fn wake_if_drained(&self) {
        if self.wake.load(Ordering::Acquire)
            && self.below_watermark()
            && self.wake.swap(false, Ordering::AcqRel)
        {
            self.drained.notify_one();
        }
    }

    fn taken(&self, messages: usize, bytes: usize) {
        self.bytes.fetch_sub(bytes, Ordering::AcqRel);
        self.messages.fetch_sub(messages, Ordering::AcqRel);
    }
}

/// The sending side of a socket.
#[derive(Clone, Debug)]
pub struct Outbox {
    tx: mpsc::Sender<Message>,
    level: Arc<Level>,
    close_tx: Arc<watch::Sender<Option<(u16, String)>>>,
}

impl Outbox {
    /// Queues `message` if it fits.
    pub fn push(&self, message: Message) -> Result<(), PushError> {
        let len = message_len(&message);
        let before = self.level.bytes.fetch_add(len, Ordering::AcqRel);
        if before + len > self.level.limits.bytes && before > 0 {
            self.level.bytes.fetch_sub(len, Ordering::AcqRel);
            return Err(PushError::Full);
        }
        self.level.messages.fetch_add(1, Ordering::AcqRel);
        self.tx.try_send(message).map_err(|e| {
            self.level.taken(1, len);
            match e {
                mpsc::error::TrySendError::Full(_) => PushError::Full,
                mpsc::error::TrySendError::Closed(_) => PushError::Closed,
            }
        })
    }

    /// Whether the queue is under half its messages and bytes: room for output.
    pub fn below_watermark(&self) -> bool {
        self.level.below_watermark()
    }

    /// Makes [`Outbox::drained`] resolve once the queue is below half (at once if it is).
    pub fn wake_when_drained(&self) {
        self.level.wake.store(true, Ordering::Release);
        self.level.wake_if_drained();
    }

    /// Resolves after [`Outbox::wake_when_drained`] once the queue is below half.
    pub async fn drained(&self) {
        self.level.drained.notified().await;
    }

    /// Whether `other` feeds the same socket.
    pub fn same(&self, other: &Outbox) -> bool {
        self.tx.same_channel(&other.tx)
    }

    /// Asks the writer to close the socket with `code` and `reason` (after nothing else).
    pub fn close(&self, code: u16, reason: &str) {
        self.close_tx.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some((code, reason.to_owned()));
            true
        });
    }

    /// Whether the writer has stopped.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Resolves once the writer has stopped (the socket failed, stalled or was closed).
    pub async fn closed(&self) {
        self.tx.closed().await;
    }
}

/// Starts the writer task for `sink`; it ends when the socket fails, a close is asked for, or
/// every [`Outbox`] is dropped.
pub fn spawn_writer(
    sink: SplitSink<WebSocket, Message>,
    limits: QueueLimits,
    metrics: Arc<Metrics>,
) -> Outbox {
    let (tx, rx) = mpsc::channel(limits.messages);
    let (close_tx, close_rx) = watch::channel(None);
    let level = Arc::new(Level {
        bytes: AtomicUsize::new(0),
        messages: AtomicUsize::new(0),
        limits,
        wake: AtomicBool::new(false),
        drained: Notify::new(),
    });
    tokio::spawn(write(sink, rx, close_rx, level.clone(), metrics));
    Outbox {
        tx,
        level,
        close_tx: Arc::new(close_tx),
    }
}

async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Message>,
    mut close_rx: watch::Receiver<Option<(u16, String)>>,
    level: Arc<Level>,
    metrics: Arc<Metrics>,
) {
    let write_timeout = level.limits.write_timeout;
    loop {
        let message = tokio::select! {
            biased;
            _ = close_rx.changed() => break,
            message = rx.recv() => match message {
                Some(message) => message,
                None => break,
            },
        };
        // Write what is queued in one go and flush once: one syscall for a burst, and a lone
        // keystroke echo still leaves at once.
        let mut batch = vec![message];
        let mut batch_bytes = message_len(&batch[0]);
        while batch_bytes < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok(next) => {
                    batch_bytes += message_len(&next);
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        let count = batch.len();
        level.taken(count, batch_bytes);
        let write = async {
            for message in batch {
                sink.feed(message).await?;
            }
            sink.flush().await
        };
        let sent = tokio::select! {
            biased;
            _ = close_rx.changed() => break,
            sent = tokio::time::timeout(write_timeout, write) => sent,
        };
        match sent {
            Ok(Ok(())) => {
                metrics.sent(count, batch_bytes);
                level.wake_if_drained();
            }
            Ok(Err(_)) => break,
            Err(_) => {
                // The peer stopped reading: it counts as evicted, and may resume.
                metrics.evicted();
                break;
            }
        }
    }
    rx.close();
    let close = close_rx.borrow().clone();
    if let Some((code, reason)) = close {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        // A stalled peer may still read its backlog: give the close as long as a write.
        let _ = tokio::time::timeout(write_timeout, sink.send(frame)).await;
    }
}

fn message_len(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) => bytes.len(),
        Message::Ping(bytes) | Message::Pong(bytes) => bytes.len(),
        Message::Close(_) => 2,
    }
}
