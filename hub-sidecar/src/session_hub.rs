//! One terminal session as the hub holds it: its replay window, the browsers attached to it,
//! the single-writer lease, and the clocks that free it (ended, or watched by nobody).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::extract::ws::Message;
use chatcode_core::ticket::Mode;

use crate::{
    metrics::Metrics,
    outbox::{Outbox, PushError, close},
    replay::ReplayBuffer,
};

/// How long a writer keeps the session to itself after its last keystroke.
pub const WRITER_LEASE: Duration = Duration::from_secs(30);

/// A browser attached to a session.
pub struct Subscriber {
    /// Unique per hub.
    pub id: u64,
    /// Its socket's queue.
    pub outbox: Outbox,
    /// What its ticket allows.
    pub mode: Mode,
    /// When it last sent anything (ms on the hub's clock), for the idle sweep.
    pub last_active: Arc<AtomicU64>,
}

/// A session's state.
pub struct SessionHub {
    /// Its recent output, for resumes.
    pub replay: ReplayBuffer,
    /// The browsers attached.
    pub subscribers: Vec<Subscriber>,
    /// The browser that typed last, and when.
    lease: Option<(u64, Instant)>,
    /// When the gateway said it ended.
    ended_at: Option<Instant>,
    /// Since when no browser is attached (as the housekeeping saw it).
    unwatched_since: Option<Instant>,
}

/// When sessions are let go.
#[derive(Debug, Clone, Copy)]
pub struct Release {
    /// After `session.ended`, this long for the browsers to get the tail.
    pub linger: Duration,
    /// Without a browser, this long.
    pub idle: Duration,
}

impl SessionHub {
    /// A session keeping `replay_bytes` of output.
    pub fn new(replay_bytes: usize) -> Self {
        Self {
            replay: ReplayBuffer::with_capacity(replay_bytes),
            subscribers: Vec::new(),
            lease: None,
            ended_at: None,
            unwatched_since: Some(Instant::now()),
        }
    }

    /// Pushes `message` to every browser, dropping (and asking to close) those that cannot
    /// keep up or have gone; those evicted for falling behind are counted.
    pub fn deliver_all(&mut self, message: &Message, metrics: &Metrics) {
        self.subscribers
            .retain(|s| match s.outbox.push(message.clone()) {
                Ok(()) => true,
                Err(PushError::Full) => {
                    s.outbox.close(
                        close::TRY_AGAIN_LATER,
                        "too far behind: reconnect with last_seq",
                    );
                    metrics.evicted();
                    false
                }
                Err(PushError::Closed) => false,
            });
    }

    /// Detaches a browser (and its lease).
    pub fn detach(&mut self, subscriber_id: u64) {
        self.subscribers.retain(|s| s.id != subscriber_id);
        if self.lease.is_some_and(|(id, _)| id == subscriber_id) {
            self.lease = None;
        }
    }

    /// Whether `subscriber_id` may type now: nobody else typed in the last 30 s. Taking the
    /// lease renews it.
    pub fn take_lease(&mut self, subscriber_id: u64) -> bool {
        let now = Instant::now();
        let free = match self.lease {
            Some((holder, at)) => holder == subscriber_id || now.duration_since(at) >= WRITER_LEASE,
            None => true,
        };
        if free {
            self.lease = Some((subscriber_id, now));
        }
        free
    }

    /// The gateway said the session ended.
    pub fn ended(&mut self) {
        self.ended_at.get_or_insert_with(Instant::now);
    }

    /// Closes browsers silent since before `cutoff` (hub clock ms); returns how many.
    pub fn close_idle(&mut self, cutoff: u64) -> usize {
        let before = self.subscribers.len();
        self.subscribers.retain(|s| {
            let idle = s.last_active.load(Ordering::Relaxed) < cutoff;
            if idle {
                s.outbox.close(close::NORMAL, "idle for too long");
            }
            !idle
        });
        before - self.subscribers.len()
    }

    /// Whether the hub keeps this session at `now` (its gateway `connected` or not). A
    /// session that ended longer than the linger ago closes its browsers (4002) and goes; one
    /// nobody watched for the idle time goes, and so does an unwatched one of a gateway that
    /// is away (it sends a snapshot when it is back).
    pub fn keep(&mut self, now: Instant, connected: bool, release: Release) -> bool {
        if let Some(ended) = self.ended_at
            && now.saturating_duration_since(ended) >= release.linger
        {
            for subscriber in &self.subscribers {
                subscriber
                    .outbox
                    .close(close::SESSION_ENDED, "the session has ended");
            }
            return false;
        }
        if !self.subscribers.is_empty() {
            self.unwatched_since = None;
            return true;
        }
        let since = *self.unwatched_since.get_or_insert(now);
        connected && self.replay.bytes() > 0 && now.saturating_duration_since(since) < release.idle
    }

    /// Closes every browser with `code`.
    pub fn close_all(&self, code: u16, reason: &str) {
        for subscriber in &self.subscribers {
            subscriber.outbox.close(code, reason);
        }
    }
}
