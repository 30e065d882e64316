//! A gateway's browsers: attaching (with a resume), catching up as their queues drain, the
//! single-writer lease, the idle sweep, and closing them when access is revoked.

use chatcode_core::ticket::AttachTicket;

use super::Gateway;
use crate::{outbox::PushError, session_hub::Subscriber};

/// Why a browser could not attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachError {
    /// The session has its most browsers, or the gateway its most sessions.
    AtCapacity,
    /// The browser's queue could not take what it must get first.
    Queue(PushError),
}

impl From<PushError> for AttachError {
    fn from(e: PushError) -> Self {
        AttachError::Queue(e)
    }
}

/// How an attaching browser starts.
#[derive(Debug, PartialEq, Eq)]
pub enum Attached {
    /// It gets every frame after its `last_seq` (now, or as its queue drains); live frames
    /// follow.
    Resumed,
    /// It needs a snapshot first (a fresh attach, or frames were lost: a `gap` was sent).
    NeedsSnapshot,
    /// The gateway is away: the browser was told so with a `gateway.status`, and the snapshots
    /// of the gateway's greeting will reach it when it is back.
    GatewayAway,
}

impl Gateway {
    /// Whether a browser may attach to `session_id` now: neither the session's browser cap
    /// nor the gateway's session cap is reached.
    pub fn has_room(&self, session_id: &str) -> bool {
        let state = self.lock();
        match state.sessions.get(session_id) {
            Some(session) => session.subscribers.len() < self.limits.browsers_per_session,
            None => state.sessions.len() < self.limits.sessions_per_gateway,
        }
    }

    /// Attaches a browser to a session. With `last_seq`, it first gets every frame after it
    /// from the replay window (now or as its queue drains), or a `gap` when they are gone.
    /// While the gateway is away, it is told so in the same breath, so no status change can
    /// slip in between.
    pub fn attach(
        &self,
        session_id: &str,
        subscriber: Subscriber,
        last_seq: Option<u64>,
    ) -> Result<Attached, AttachError> {
        let mut state = self.lock();
        let away = state.away();
        let session = state
            .session(session_id, &self.limits)
            .filter(|s| s.subscribers.len() < self.limits.browsers_per_session)
            .ok_or(AttachError::AtCapacity)?;
        let outbox = subscriber.outbox.clone();
        let needs_snapshot = match last_seq {
            Some(n) => session.attach(session_id, subscriber, n, &self.metrics)?,
            None => {
                session.subscribers.push(subscriber);
                true
            }
        };
        if let Some(status) = away {
            outbox.push(self.status_message(status))?;
        }
        Ok(match (needs_snapshot, away) {
            (false, _) => Attached::Resumed,
            (true, None) => Attached::NeedsSnapshot,
            (true, Some(_)) => Attached::GatewayAway,
        })
    }

    /// Feeds a browser of `session_id` that waited for its queue to drain; true when it was
    /// sent a `gap` instead and needs a snapshot.
    pub fn catch_up(&self, session_id: &str, subscriber_id: u64) -> bool {
        self.lock()
            .sessions
            .get_mut(session_id)
            .is_some_and(|session| session.catch_up(session_id, subscriber_id, &self.metrics))
    }

    /// Detaches a browser.
    pub fn detach(&self, session_id: &str, subscriber_id: u64) {
        if let Some(session) = self.lock().sessions.get_mut(session_id) {
            session.detach(subscriber_id);
        }
    }

    /// Whether `subscriber_id` may type now: nobody else typed in the last 30 s. Taking the
    /// lease renews it.
    pub fn take_lease(&self, session_id: &str, subscriber_id: u64) -> bool {
        self.lock()
            .sessions
            .get_mut(session_id)
            .is_none_or(|session| session.take_lease(subscriber_id))
    }

    /// Closes browsers silent since before `cutoff` (hub clock ms); returns how many.
    pub fn close_idle(&self, cutoff: u64) -> usize {
        let mut state = self.lock();
        state
            .sessions
            .values_mut()
            .map(|session| session.close_idle(cutoff))
            .sum()
    }

    /// Closes (with `code`) and drops the browsers whose ticket matches; how many.
    pub fn close_browsers(
        &self,
        matches: impl Fn(&AttachTicket) -> bool,
        code: u16,
        reason: &str,
    ) -> usize {
        let mut state = self.lock();
        state
            .sessions
            .values_mut()
            .map(|session| session.close_matching(&matches, code, reason))
            .sum()
    }

    /// Browsers attached, over all sessions.
    pub fn browser_count(&self) -> usize {
        self.lock()
            .sessions
            .values()
            .map(|s| s.subscribers.len())
            .sum()
    }
}
