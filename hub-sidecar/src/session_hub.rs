//! One terminal session as the hub holds it: its replay window, the browsers attached to it,
//! the single-writer lease, and the clocks that free it (ended, or watched by nobody).
//!
//! A browser whose queue is half full stops getting live frames and catches up from the replay
//! window as its queue drains, in `seq` order; one that falls out of the window gets a `gap`,
//! goes live and is sent a snapshot. A snapshot it gets also makes it live (it shows everything
//! up to there), so no older frame ever follows a snapshot.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::extract::ws::Message;
use bytes::Bytes;
use chatcode_core::{
    protocol::{Gap, HubMessage},
    ticket::AttachTicket,
};

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
    /// Its ticket: what it may do, and whose it is (revocations close it).
    pub ticket: Arc<AttachTicket>,
    /// When it last sent anything (ms on the hub's clock), for the idle sweep.
    pub last_active: Arc<AtomicU64>,
    /// While it catches up: the next frame it needs from the replay window.
    pub catch_up: Option<u64>,
}

impl Subscriber {
    /// Pushes `frames` in order while its queue has room for output; if one does not fit,
    /// it catches up from that one when the queue drains. False if its socket is gone.
    pub fn feed<'a>(&mut self, frames: impl Iterator<Item = (u64, &'a Bytes)>) -> bool {
        for (seq, frame) in frames {
            let pushed = if self.outbox.below_watermark() {
                self.outbox.push(Message::Binary(frame.clone()))
            } else {
                Err(PushError::Full)
            };
            match pushed {
                Ok(()) => {}
                Err(PushError::Full) => {
                    self.catch_up = Some(seq);
                    self.outbox.wake_when_drained();
                    return true;
                }
                Err(PushError::Closed) => return false,
            }
        }
        self.catch_up = None;
        true
    }
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

    /// A new output frame: kept for resumes and fed to every live browser (those catching up
    /// get it from the window). False for a duplicate, which goes nowhere.
    pub fn output(&mut self, seq: u64, frame: Bytes, metrics: &Metrics) -> bool {
        if !self.replay.push(seq, frame.clone()) {
            return false;
        }
        self.subscribers.retain_mut(|s| {
            if s.catch_up.is_some() {
                return true;
            }
            let live = s.feed(std::iter::once((seq, &frame)));
            if s.catch_up.is_some() {
                metrics.caught_up_later();
            }
            live
        });
        true
    }

    /// Feeds a browser that was waiting for its queue to drain. True when its frames are
    /// gone from the window: it was sent a `gap` and is live again, and needs a snapshot.
    pub fn catch_up(&mut self, session_id: &str, subscriber_id: u64, metrics: &Metrics) -> bool {
        let Some(subscriber) = self.subscribers.iter_mut().find(|s| s.id == subscriber_id) else {
            return false;
        };
        let Some(first) = subscriber.catch_up else {
            return false;
        };
        match self.replay.frames_from(first) {
            Ok(frames) => {
                subscriber.feed(frames);
                false
            }
            Err(next) => {
                subscriber.catch_up = None;
                metrics.gap();
                let gap = gap_message(session_id, first.saturating_sub(1), next);
                let _ = subscriber.outbox.push(gap);
                true
            }
        }
    }

    /// The gateway linked again: frames before here may not be resumed, and a browser still
    /// catching up gets a `gap` and is live (the snapshot asked for on link follows).
    pub fn relinked(&mut self, session_id: &str, metrics: &Metrics) {
        self.replay.break_run();
        let next = self.replay.last_seq().map_or(0, |seq| seq.wrapping_add(1));
        for subscriber in &mut self.subscribers {
            if let Some(first) = subscriber.catch_up.take() {
                metrics.gap();
                let gap = gap_message(session_id, first.saturating_sub(1), next);
                let _ = subscriber.outbox.push(gap);
            }
        }
    }

    /// A `session.snapshot` for every browser, or only for `only` (the one that asked): each
    /// that gets it is live from here.
    pub fn snapshot(&mut self, message: &Message, only: Option<&Outbox>, metrics: &Metrics) {
        for subscriber in &mut self.subscribers {
            if only.is_none_or(|o| o.same(&subscriber.outbox)) {
                subscriber.catch_up = None;
            }
        }
        match only {
            Some(outbox) => {
                let _ = outbox.push(message.clone());
            }
            None => self.deliver_all(message, metrics),
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

    /// Attaches a browser. With `last_seq`, it first gets every frame after it (now, or as
    /// its queue drains), or a `gap` when they are gone: true then, and it needs a snapshot.
    pub fn attach(
        &mut self,
        session_id: &str,
        mut subscriber: Subscriber,
        last_seq: u64,
        metrics: &Metrics,
    ) -> Result<bool, PushError> {
        let resumed = last_seq
            .checked_add(1)
            .ok_or(0)
            .and_then(|first| self.replay.frames_from(first));
        let needs_snapshot = match resumed {
            Ok(frames) => {
                if !subscriber.feed(frames) {
                    return Err(PushError::Closed);
                }
                false
            }
            Err(next) => {
                metrics.gap();
                subscriber
                    .outbox
                    .push(gap_message(session_id, last_seq, next))?;
                true
            }
        };
        self.subscribers.push(subscriber);
        Ok(needs_snapshot)
    }

    /// Closes (with `code`) and drops the browsers whose ticket matches; how many.
    pub fn close_matching(
        &mut self,
        matches: impl Fn(&AttachTicket) -> bool,
        code: u16,
        reason: &str,
    ) -> usize {
        let before = self.subscribers.len();
        self.subscribers.retain(|s| {
            let hit = matches(&s.ticket);
            if hit {
                s.outbox.close(code, reason);
            }
            !hit
        });
        before - self.subscribers.len()
    }

    /// Closes every browser with `code`.
    pub fn close_all(&self, code: u16, reason: &str) {
        for subscriber in &self.subscribers {
            subscriber.outbox.close(code, reason);
        }
    }
}

/// A `gap`: frames after `from_seq` up to `to_seq` (excluded) will not come.
fn gap_message(session_id: &str, from_seq: u64, to_seq: u64) -> Message {
    let gap = HubMessage::Gap(Gap {
        session_id: session_id.to_owned(),
        from_seq,
        to_seq,
    });
    Message::Text(gap.to_json().into())
}
