//! One gateway as the hub holds it: its current socket, its sessions (replay buffer, attached
//! browsers, the single-writer lease) and its relay state.
//!
//! Everything sits behind one mutex that is never held across an `.await`: a frame is pushed
//! to every browser's queue with a non-blocking push while the lock is held, which is what
//! keeps the order of replayed and live frames exact. What concerns its browsers alone is in
//! [`browsers`].

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use axum::extract::ws::Message;
use bytes::Bytes;
use chatcode_core::{
    hub_events::HubEvent,
    protocol::{Event, GatewayState, HubMessage},
};

use crate::{
    app::GatewayOwner,
    config::Limits,
    event_queue::{EventQueue, Offered, Source},
    metrics::Metrics,
    outbox::{Outbox, PushError, close},
    relay::Relay,
    session_hub::{Release, SessionHub},
};

mod browsers;

pub use browsers::{AttachError, Attached};

/// The connection a gateway currently has.
struct Link {
    conn_id: u64,
    outbox: Outbox,
}

#[derive(Default)]
struct State {
    link: Option<Link>,
    owner: Option<GatewayOwner>,
    sessions: HashMap<String, SessionHub>,
    relay: Relay,
    /// Bumped at every connect and disconnect; a grace timer acts only if it is unchanged.
    epoch: u64,
    /// Whether the app has this gateway recorded as connected.
    recorded_online: bool,
}

impl State {
    /// Session `id`, made if the gateway has room for one more.
    fn session(&mut self, id: &str, limits: &Limits) -> Option<&mut SessionHub> {
        if !self.sessions.contains_key(id) && self.sessions.len() >= limits.sessions_per_gateway {
            return None;
        }
        Some(
            self.sessions
                .entry(id.to_owned())
                .or_insert_with(|| SessionHub::new(limits.replay_bytes)),
        )
    }

    /// Where the connection stands while no socket is linked; `None` when one is.
    fn away(&self) -> Option<GatewayState> {
        match (&self.link, self.recorded_online) {
            (Some(_), _) => None,
            (None, true) => Some(GatewayState::Reconnecting),
            (None, false) => Some(GatewayState::Offline),
        }
    }
}

/// A gateway and everything attached to it.
pub struct Gateway {
    /// The gateway's id.
    pub id: String,
    state: Mutex<State>,
    /// Its events on their way to the app, behind a lock of their own so recording never
    /// contends with output.
    events: Mutex<EventQueue>,
    limits: Limits,
    metrics: Arc<Metrics>,
}

/// What replacing a gateway's socket did.
pub struct Linked {
    /// The socket it replaced, to be closed; `None` when the gateway was away.
    pub replaced: Option<Outbox>,
    /// Whether the app must now be told the gateway is connected (false inside the grace).
    pub record_connected: bool,
    /// The sessions with browsers: ask the gateway for a snapshot of each, once.
    pub watched: Vec<String>,
}

impl Gateway {
    /// A gateway with no socket yet, holding no more than `limits`; what it drops or evicts
    /// is counted in `metrics`.
    pub fn new(id: &str, limits: Limits, metrics: Arc<Metrics>) -> Self {
        Self {
            id: id.to_owned(),
            state: Mutex::new(State::default()),
            events: Mutex::new(EventQueue::new(limits.event_queue)),
            limits,
            metrics,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn events(&self) -> MutexGuard<'_, EventQueue> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues an event for the app; true when nothing delivers the queue yet, so the caller
    /// must start a delivery (which then owns the queue until [`Gateway::take_batch`] finds
    /// it empty).
    pub fn queue_event(&self, event: &HubEvent, source: Source) -> (Offered, bool) {
        let mut queue = self.events();
        let offered = queue.offer(event, source);
        let start = offered.queued && !queue.flushing;
        if start {
            queue.flushing = true;
        }
        (offered, start)
    }

    /// The next batch to post; `None` when the queue is empty, and then its delivery is over.
    pub fn take_batch(&self) -> Option<(Vec<u8>, usize)> {
        let mut queue = self.events();
        let batch = queue.take_batch();
        if batch.is_none() {
            queue.flushing = false;
        }
        batch
    }

    /// Makes `outbox` the gateway's socket. Output went by that the hub did not see (the
    /// gateway drops what it could not send), so no resume may span this point: every
    /// session's replay run is broken, and browsers catching up get a `gap`.
    pub fn link(&self, conn_id: u64, outbox: Outbox, owner: GatewayOwner) -> Linked {
        let mut state = self.lock();
        let replaced = state
            .link
            .replace(Link { conn_id, outbox })
            .map(|l| l.outbox);
        state.owner = Some(owner);
        state.epoch += 1;
        let record_connected = !state.recorded_online;
        state.recorded_online = true;
        if replaced.is_none() {
            self.announce(&mut state, GatewayState::Connected);
        }
        let mut watched = Vec::new();
        for (session_id, session) in &mut state.sessions {
            session.relinked(session_id, &self.metrics);
            if !session.subscribers.is_empty() {
                watched.push(session_id.clone());
            }
        }
        Linked {
            replaced,
            record_connected,
            watched,
        }
    }

    /// Forgets socket `conn_id` if it is still the current one (its browsers hear the gateway
    /// is reconnecting); the epoch to hand to the grace timer, or `None` when a newer socket
    /// already took over.
    pub fn unlink(&self, conn_id: u64) -> Option<u64> {
        let mut state = self.lock();
        if state.link.as_ref().is_some_and(|l| l.conn_id == conn_id) {
            state.link = None;
            state.epoch += 1;
            self.announce(&mut state, GatewayState::Reconnecting);
            Some(state.epoch)
        } else {
            None
        }
    }

    /// At the end of the grace: true when nothing reconnected since `epoch`, so the app must
    /// be told the gateway is offline (its browsers are told here).
    pub fn grace_over(&self, epoch: u64) -> bool {
        let mut state = self.lock();
        if state.epoch == epoch && state.link.is_none() && state.recorded_online {
            state.recorded_online = false;
            self.announce(&mut state, GatewayState::Offline);
            true
        } else {
            false
        }
    }

    /// Several hubs: another hub holds this gateway now. Its socket here (if any) is closed as
    /// replaced, its browsers are closed with `code` (they reconnect to the new hub), and the
    /// app is not told it went offline: the other hub records it.
    pub fn hand_off(&self, code: u16, reason: &str) {
        let mut state = self.lock();
        if let Some(link) = state.link.take() {
            link.outbox
                .close(close::REPLACED, "the gateway connected to another hub");
        }
        state.recorded_online = false;
        state.epoch += 1;
        for session in state.sessions.values_mut() {
            session.close_all(code, reason);
            session.subscribers.clear();
        }
    }

    /// Several hubs: whether this hub still answers for the gateway (it is linked, or inside
    /// its grace), so it keeps its claim.
    pub fn holds_claim(&self) -> bool {
        let state = self.lock();
        state.link.is_some() || state.recorded_online
    }

    /// Whether a socket is connected.
    pub fn is_connected(&self) -> bool {
        self.lock().link.is_some()
    }

    /// The VPS and user the gateway belongs to, once it has connected.
    pub fn owner(&self) -> Option<GatewayOwner> {
        self.lock().owner.clone()
    }

    /// Queues a message to the gateway.
    pub fn send(&self, message: Message) -> Result<(), PushError> {
        let state = self.lock();
        match &state.link {
            Some(link) => link.outbox.push(message),
            None => Err(PushError::Closed),
        }
    }

    /// Runs `f` on the relay state.
    pub fn with_relay<T>(&self, f: impl FnOnce(&mut Relay) -> T) -> T {
        f(&mut self.lock().relay)
    }

    /// An output frame from the gateway: kept for resumes and fed to every browser of the
    /// session (those behind catch up as they drain). The frame of a session past the
    /// gateway's cap is dropped and counted.
    pub fn output(&self, session_id: &str, seq: u64, frame: Bytes) {
        let mut state = self.lock();
        match state.session(session_id, &self.limits) {
            Some(session) => {
                session.output(seq, frame, &self.metrics);
            }
            None => self.metrics.frame_dropped(),
        }
    }

    /// The gateway said `session_id` ended: it is freed after the linger.
    pub fn session_ended(&self, session_id: &str) {
        if let Some(session) = self.lock().sessions.get_mut(session_id) {
            session.ended();
        }
    }

    fn broadcast_locked(&self, state: &mut State, message: &Message) {
        for session in state.sessions.values_mut() {
            session.deliver_all(message, &self.metrics);
        }
    }

    /// Tells every browser where the connection stands (under the lock, so two changes reach
    /// everyone in the order they happened).
    fn announce(&self, state: &mut State, status: GatewayState) {
        self.broadcast_locked(state, &self.status_message(status));
    }

    /// The `gateway.status` browsers get for `status`.
    fn status_message(&self, status: GatewayState) -> Message {
        Message::Text(
            HubMessage::gateway_status(&self.id, status)
                .to_json()
                .into(),
        )
    }

    /// Sends an event where it belongs: to the browser that asked for it, else (acks aside)
    /// to the browsers of its session, or of every session for the gateway's hello and
    /// health. Relays take theirs on the way. A snapshot makes whoever gets it live.
    pub fn route(&self, event: &Event, text: &str) {
        let mut state = self.lock();
        let asked = state.relay.deliver(event, text);
        let message = Message::Text(text.into());
        match (event, asked) {
            (Event::SessionSnapshot(snapshot), asked) => {
                match state.sessions.get_mut(&snapshot.session_id) {
                    Some(session) => session.snapshot(&message, asked.as_ref(), &self.metrics),
                    None => {
                        if let Some(browser) = asked {
                            let _ = browser.push(message);
                        }
                    }
                }
            }
            (_, Some(browser)) => {
                let _ = browser.push(message);
            }
            (Event::Ack(_), None) => {}
            (Event::GatewayHello(_) | Event::GatewayHealth(_), None) => {
                self.broadcast_locked(&mut state, &message);
            }
            (_, None) => {
                if let Some(session) = event.session_id().and_then(|id| state.sessions.get_mut(id))
                {
                    session.deliver_all(&message, &self.metrics);
                }
            }
        }
    }

    /// Drops relay answers older than `memory`, and the sessions `release` lets go.
    pub fn expire(&self, memory: Duration, release: Release) {
        let mut state = self.lock();
        state.relay.expire(memory);
        let connected = state.link.is_some();
        let now = Instant::now();
        state
            .sessions
            .retain(|_, session| session.keep(now, connected, release));
    }

    /// Sessions held.
    pub fn session_count(&self) -> usize {
        self.lock().sessions.len()
    }

    /// Whether nothing refers to this gateway any more (no socket, no browser, nothing to
    /// tell the app), so the hub may forget it.
    pub fn is_unused(&self) -> bool {
        let idle = {
            let state = self.lock();
            state.link.is_none()
                && !state.recorded_online
                && state.sessions.values().all(|s| s.subscribers.is_empty())
        };
        idle && {
            let queue = self.events();
            queue.is_empty() && !queue.flushing
        }
    }

    /// Closes every socket with `code` (shutdown).
    pub fn close_all(&self, code: u16, reason: &str) {
        let state = self.lock();
        if let Some(link) = &state.link {
            link.outbox.close(code, reason);
        }
        for session in state.sessions.values() {
            session.close_all(code, reason);
        }
    }

    /// Closes the gateway's socket with `code`; false when it has none.
    pub fn close_link(&self, code: u16, reason: &str) -> bool {
        let state = self.lock();
        if let Some(link) = &state.link {
            link.outbox.close(code, reason);
        }
        state.link.is_some()
    }
}
