//! One writer task per socket, fed by a bounded queue with a byte budget, so whoever produces
//! messages never waits on a slow peer: a push either fits or fails at once, and the producer
//! decides. Output to a browser stops at half the queue ([`Outbox::below_watermark`]) and
//! resumes from the replay window when the writer wakes it ([`Outbox::drained`]), so the other
//! half always has room for its JSON messages. Several hubs: the outbox of a browser on another
//! hub has the same budget, but feeds a queue it shares with that hub's other browsers
//! ([`SharedQueue`]), which charges each message to it until the message leaves.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::extract::ws::{CloseFrame, Message};
use futures::{Sink, SinkExt};
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
    fn new(limits: QueueLimits) -> Self {
        Self {
            bytes: AtomicUsize::new(0),
            messages: AtomicUsize::new(0),
            limits,
            wake: AtomicBool::new(false),
            drained: Notify::new(),
        }
    }

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

/// One outbox's charge for a message in a [`SharedQueue`], released when the message leaves.
#[derive(Debug)]
pub struct Charge {
    level: Arc<Level>,
    bytes: usize,
}

impl Charge {
    /// The message left: its outbox has room again (and its waiter is woken below half).
    pub fn release(self) {
        self.level.taken(1, self.bytes);
        self.level.wake_if_drained();
    }
}

/// Wakes an outbox that waits for room in a [`SharedQueue`].
#[derive(Debug, Clone)]
pub struct Waiter(Arc<Level>);

impl Waiter {
    /// Wakes the outbox if it is below half, as its own writer would.
    pub fn wake(&self) {
        self.0.wake_if_drained();
    }

    /// Tells two waiters of one outbox apart from others.
    pub fn key(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
}

/// A queue that several outboxes feed (several hubs: what goes to one other hub), each
/// message tagged with its outbox's id; bounded by bytes of its own.
pub trait SharedQueue: Send + Sync + fmt::Debug {
    /// Queues `message` for outbox `id`, charged with `charge`, if it fits.
    fn push(&self, id: u64, message: Message, charge: Charge) -> Result<(), PushError>;
    /// Queues outbox `id`'s close (always fits: one per outbox).
    fn close(&self, id: u64, code: u16, reason: &str);
    /// Whether the queue is under half its bytes.
    fn below_half(&self) -> bool;
    /// Wakes `waiter` once the queue is under half; false when it already is.
    fn wake_when_below_half(&self, waiter: Waiter) -> bool;
}

/// Where an outbox's messages go.
#[derive(Clone, Debug)]
enum Feed {
    /// Its own writer task.
    Writer(mpsc::Sender<Message>),
    /// A queue shared with other outboxes, as outbox `id`.
    Shared(Arc<dyn SharedQueue>, u64),
}

/// The sending side of a socket.
#[derive(Clone, Debug)]
pub struct Outbox {
    feed: Feed,
    level: Arc<Level>,
    close_tx: Arc<watch::Sender<Option<(u16, String)>>>,
}

impl Outbox {
    /// The outbox `id` of `queue`, with its own budget of `limits` (its write timeout is the
    /// queue's business).
    pub fn shared(queue: Arc<dyn SharedQueue>, id: u64, limits: QueueLimits) -> Self {
        Self {
            feed: Feed::Shared(queue, id),
            level: Arc::new(Level::new(limits)),
            close_tx: Arc::new(watch::channel(None).0),
        }
    }

    /// Queues `message` if it fits.
    pub fn push(&self, message: Message) -> Result<(), PushError> {
        let len = message_len(&message);
        let before = self.level.bytes.fetch_add(len, Ordering::AcqRel);
        if before + len > self.level.limits.bytes && before > 0 {
            self.level.bytes.fetch_sub(len, Ordering::AcqRel);
            return Err(PushError::Full);
        }
        let messages = self.level.messages.fetch_add(1, Ordering::AcqRel);
        match &self.feed {
            Feed::Writer(tx) => tx.try_send(message).map_err(|e| {
                self.level.taken(1, len);
                match e {
                    mpsc::error::TrySendError::Full(_) => PushError::Full,
                    mpsc::error::TrySendError::Closed(_) => PushError::Closed,
                }
            }),
            Feed::Shared(queue, id) => {
                let refused = if self.close_tx.borrow().is_some() {
                    Err(PushError::Closed)
                } else if messages >= self.level.limits.messages {
                    Err(PushError::Full)
                } else {
                    let charge = Charge {
                        level: self.level.clone(),
                        bytes: len,
                    };
                    queue.push(*id, message, charge)
                };
                refused.inspect_err(|_| self.level.taken(1, len))
            }
        }
    }

    /// Whether the queue is under half its messages and bytes: room for output.
    pub fn below_watermark(&self) -> bool {
        self.level.below_watermark()
            && match &self.feed {
                Feed::Writer(_) => true,
                Feed::Shared(queue, _) => queue.below_half(),
            }
    }

    /// Makes [`Outbox::drained`] resolve once the queue is below half (at once if it is).
    pub fn wake_when_drained(&self) {
        self.level.wake.store(true, Ordering::Release);
        if let Feed::Shared(queue, _) = &self.feed
            && queue.wake_when_below_half(Waiter(self.level.clone()))
        {
            return;
        }
        self.level.wake_if_drained();
    }

    /// Resolves after [`Outbox::wake_when_drained`] once the queue is below half.
    pub async fn drained(&self) {
        self.level.drained.notified().await;
    }

    /// Whether `other` feeds the same socket.
    pub fn same(&self, other: &Outbox) -> bool {
        Arc::ptr_eq(&self.level, &other.level)
    }

    /// Asks the writer to close the socket with `code` and `reason` (after nothing else; a
    /// shared queue sends what this outbox queued first).
    pub fn close(&self, code: u16, reason: &str) {
        let asked = self.close_tx.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some((code, reason.to_owned()));
            true
        });
        if asked && let Feed::Shared(queue, id) = &self.feed {
            queue.close(*id, code, reason);
        }
    }

    /// Whether the writer has stopped (a shared queue's outbox: whether it was closed).
    pub fn is_closed(&self) -> bool {
        match &self.feed {
            Feed::Writer(tx) => tx.is_closed(),
            Feed::Shared(..) => self.close_tx.borrow().is_some(),
        }
    }

    /// Resolves once the writer has stopped (the socket failed, stalled or was closed).
    pub async fn closed(&self) {
        match &self.feed {
            Feed::Writer(tx) => tx.closed().await,
            Feed::Shared(..) => {
                let mut closing = self.close_tx.subscribe();
                let _ = closing.wait_for(Option::is_some).await;
            }
        }
    }
}

/// Starts the writer task for `sink` (a socket's sending half, or a hub's link to a browser
/// on another hub); it ends when the sink fails, a close is asked for, or every [`Outbox`] is
/// dropped.
pub fn spawn_writer<S>(sink: S, limits: QueueLimits, metrics: Arc<Metrics>) -> Outbox
where
    S: Sink<Message> + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::channel(limits.messages);
    let (close_tx, close_rx) = watch::channel(None);
    let level = Arc::new(Level::new(limits));
    tokio::spawn(write(sink, rx, close_rx, level.clone(), metrics));
    Outbox {
        feed: Feed::Writer(tx),
        level,
        close_tx: Arc::new(close_tx),
    }
}

async fn write<S>(
    mut sink: S,
    mut rx: mpsc::Receiver<Message>,
    mut close_rx: watch::Receiver<Option<(u16, String)>>,
    level: Arc<Level>,
    metrics: Arc<Metrics>,
) where
    S: Sink<Message> + Unpin,
{
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

/// What `message` counts for in a queue's byte budget.
pub fn message_len(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) => bytes.len(),
        Message::Ping(bytes) | Message::Pong(bytes) => bytes.len(),
        Message::Close(_) => 2,
    }
}
