//! Commands relayed to one gateway and the answers they wait for, by `request_id`.
//!
//! An answer is the gateway's `ack` plus, for commands that have one, the typed event carrying
//! the same `request_id` (`session.started`, `ssh.keys`, …), in whichever order they arrive.
//! Answers are remembered for a while, so a repeated `request_id` gets the first result
//! instead of running twice; a repeat that arrives while the first is in flight waits for it.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use chatcode_core::protocol::{Ack, Command, Event};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;

use crate::outbox::Outbox;

/// Relay requests remembered per gateway, at most.
const MAX_ENTRIES: usize = 10_000;
/// Browser-originated requests awaiting an answer, at most.
const MAX_BROWSER_REQUESTS: usize = 4096;
/// How long a browser-originated request waits for its answer.
const BROWSER_REQUEST_TTL: Duration = Duration::from_secs(30);

/// A relayed command's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The command's `request_id`.
    pub request_id: String,
    /// The gateway's `ack`.
    pub ack: Value,
    /// The typed event that answered it, if the command has one and it succeeded.
    pub event: Option<Value>,
}

/// The typed event that completes a command besides its `ack`.
fn expected_answer(command: &Command) -> Option<&'static str> {
    Some(match command {
        Command::SessionCreate(_) => "session.started",
        Command::SessionSnapshot(_) => "session.snapshot",
        Command::SshAuthorize(_) | Command::SshRevoke(_) | Command::SshList(_) => "ssh.keys",
        Command::AgentsInstall(_) => "agent.installed",
        Command::AgentsList(_) => "agents.status",
        Command::WorkspaceList(_) => "workspace.folders",
        Command::GatewayUpdate(_) => "gateway.updated",
        _ => return None,
    })
}

struct Entry {
    created: Instant,
    expects: Option<&'static str>,
    ack: Option<Ack>,
    event: Option<Value>,
    done: watch::Sender<Option<Answer>>,
}

/// Where a command came from, for the answer's delivery.
pub enum Begun {
    /// A new request: send the command, then wait on the receiver.
    New(watch::Receiver<Option<Answer>>),
    /// A repeat of a known request: just wait on the receiver.
    Repeat(watch::Receiver<Option<Answer>>),
}

/// One gateway's relay state.
#[derive(Default)]
pub struct Relay {
    entries: HashMap<String, Entry>,
    browser_requests: HashMap<String, BrowserRequest>,
}

/// A browser's command awaiting its ack (and typed answer, if it has one).
struct BrowserRequest {
    outbox: Outbox,
    at: Instant,
    expects: Option<&'static str>,
}

impl Relay {
    /// Registers `command` (keyed by its `request_id`), or finds the earlier one.
    pub fn begin(&mut self, command: &Command) -> Option<Begun> {
        let id = command.request_id();
        if let Some(entry) = self.entries.get(id) {
            return Some(Begun::Repeat(entry.done.subscribe()));
        }
        if self.entries.len() >= MAX_ENTRIES {
            return None;
        }
        let (done, rx) = watch::channel(None);
        self.entries.insert(
            id.to_owned(),
            Entry {
                created: Instant::now(),
                expects: expected_answer(command),
                ack: None,
                event: None,
                done,
            },
        );
        Some(Begun::New(rx))
    }

    /// Forgets a request whose command could not be sent, so a retry runs it.
    pub fn abandon(&mut self, request_id: &str) {
        self.entries.remove(request_id);
    }

    /// Notes that the answers to a browser's `command` go back to `outbox`. False when too
    /// many are already waiting.
    pub fn begin_for_browser(&mut self, command: &Command, outbox: Outbox) -> bool {
        if self.browser_requests.len() >= MAX_BROWSER_REQUESTS {
            let now = Instant::now();
            self.browser_requests
                .retain(|_, r| now.duration_since(r.at) < BROWSER_REQUEST_TTL);
        }
        if self.browser_requests.len() >= MAX_BROWSER_REQUESTS {
            return false;
        }
        self.browser_requests.insert(
            command.request_id().to_owned(),
            BrowserRequest {
                outbox,
                at: Instant::now(),
                expects: expected_answer(command),
            },
        );
        true
    }

    /// Delivers an `ack` or a typed answer from the gateway (`text` is the event as sent).
    /// Returns the browser to forward it to when a browser asked; `None` when it was a
    /// relay's (or nobody's).
    pub fn deliver(&mut self, event: &Event, text: &str) -> Option<Outbox> {
        let request_id = event.request_id()?;
        if let Some(entry) = self.entries.get_mut(request_id) {
            match event {
                Event::Ack(ack) => entry.ack = Some(ack.clone()),
                _ if entry.event.is_none() => entry.event = Some(raw_json(text)),
                _ => {}
            }
            entry.finish_if_complete(request_id);
            return None;
        }
        let request = self.browser_requests.get(request_id)?;
        let outbox = request.outbox.clone();
        let more_to_come = match event {
            Event::Ack(ack) => ack.ok && request.expects.is_some(),
            _ => false,
        };
        if !more_to_come {
            self.browser_requests.remove(request_id);
        }
        Some(outbox)
    }

    /// Drops answers older than `memory` and browser requests that were never answered.
    pub fn expire(&mut self, memory: Duration) {
        let now = Instant::now();
        self.entries
            .retain(|_, e| now.duration_since(e.created) < memory);
        self.browser_requests
            .retain(|_, r| now.duration_since(r.at) < BROWSER_REQUEST_TTL);
    }
}

/// An event as the gateway sent it, every field kept (`null` if it is not JSON).
pub fn raw_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

impl Entry {
    fn finish_if_complete(&mut self, request_id: &str) {
        let Some(ack) = &self.ack else { return };
        let complete = !ack.ok || self.expects.is_none() || self.event.is_some();
        if complete && self.done.borrow().is_none() {
            let ack = serde_json::to_value(Event::Ack(ack.clone())).unwrap_or(Value::Null);
            self.done.send_replace(Some(Answer {
                request_id: request_id.to_owned(),
                ack,
                event: self.event.clone(),
            }));
        }
    }
}
