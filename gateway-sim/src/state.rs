//! The simulator's shared state: sessions, what the VPS's disk holds, the command log, the
//! fault switches and the connection status.
//!
//! The connection task and the [`crate::SimHandle`] share it behind a std `Mutex`: nothing
//! awaits while holding it, and every critical section is a few map operations.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use chatcode_core::protocol::{Agent, Command};
use tokio::sync::{mpsc, watch};

use crate::connection::Control;
use crate::session::SimSession;
use crate::ssh::AuthorizedKeys;

/// Commands kept in the log of received commands; older ones are dropped.
pub const COMMAND_LOG_LEN: usize = 1024;
/// The first simulated process id.
const FIRST_PID: u32 = 4200;

/// Version each agent CLI installs at.
pub(crate) fn agent_version(agent: Agent) -> &'static str {
    match agent {
        Agent::ClaudeCode => "2.0.14",
        Agent::Codex => "0.46.0",
        Agent::Gemini => "0.9.0",
        Agent::Opencode => "0.15.2",
        Agent::None => "",
    }
}

/// Faults a test switched on.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// The error the next `session.create` fails with.
    pub(crate) fail_next_create: Option<String>,
    /// Commands still to leave unanswered.
    pub(crate) drop_acks: u32,
}

/// What outlives the gateway process: tmux sessions, and the VPS's disk (authorized keys,
/// installed agents, workspace folders). Take it with [`crate::SimHandle::stop_keep_sessions`]
/// and hand it to [`crate::GatewaySim::start_with`] to model a gateway restart.
#[derive(Clone)]
pub struct SessionState {
    pub(crate) sessions: BTreeMap<String, SimSession>,
    pub(crate) keys: AuthorizedKeys,
    /// Installed agents and their versions, by wire name.
    pub(crate) agents: BTreeMap<&'static str, String>,
    pub(crate) folders: BTreeSet<String>,
    pub(crate) next_pid: u32,
}

impl SessionState {
    /// A fresh VPS: no sessions, Claude Code installed by provisioning.
    pub fn fresh() -> SessionState {
        let claude = Agent::ClaudeCode;
        SessionState {
            sessions: BTreeMap::new(),
            keys: AuthorizedKeys::default(),
            agents: BTreeMap::from([(claude.as_str(), agent_version(claude).to_string())]),
            folders: BTreeSet::new(),
            next_pid: FIRST_PID,
        }
    }

    /// The ids of the sessions still running.
    pub fn session_ids(&self) -> Vec<String> {
        self.sessions
            .values()
            .filter(|s| s.is_live())
            .map(|s| s.id().to_string())
            .collect()
    }
}

impl Default for SessionState {
    fn default() -> Self {
        SessionState::fresh()
    }
}

impl fmt::Debug for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionState")
            .field("sessions", &self.sessions.keys().collect::<Vec<_>>())
            .field("agents", &self.agents)
            .field("folders", &self.folders)
            .finish_non_exhaustive()
    }
}

/// Everything behind the lock.
#[derive(Debug)]
pub(crate) struct Inner {
    /// Sessions and disk.
    pub(crate) vps: SessionState,
    /// Received commands, oldest first.
    pub(crate) log: VecDeque<Command>,
    /// Fault switches.
    pub(crate) faults: Faults,
}

impl Inner {
    /// Appends to the command log, dropping the oldest entry when full.
    pub(crate) fn log(&mut self, command: Command) {
        if self.log.len() == COMMAND_LOG_LEN {
            self.log.pop_front();
        }
        self.log.push_back(command);
    }

    /// The next simulated process id.
    pub(crate) fn next_pid(&mut self) -> u32 {
        let pid = self.vps.next_pid.max(FIRST_PID);
        self.vps.next_pid = pid.wrapping_add(1);
        pid
    }
}

/// Connection status, watched by [`crate::SimHandle::wait_connected`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Status {
    /// Whether a socket is up and greeted.
    pub(crate) connected: bool,
    /// Successful connects so far.
    pub(crate) connections: u64,
    /// Dials so far, failed or not.
    pub(crate) dial_attempts: u64,
}

/// State shared by the connection task and the handle.
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    status: watch::Sender<Status>,
    /// The current connection's control channel, while connected.
    link: Mutex<Option<mpsc::Sender<Control>>>,
    /// When the simulator started.
    pub(crate) started: Instant,
}

impl Shared {
    /// Shared state starting from `vps`.
    pub(crate) fn new(vps: SessionState) -> Shared {
        Shared {
            inner: Mutex::new(Inner {
                vps,
                log: VecDeque::new(),
                faults: Faults::default(),
            }),
            status: watch::Sender::new(Status::default()),
            link: Mutex::new(None),
            started: Instant::now(),
        }
    }

    /// The state, even if a panicking holder poisoned the lock (its data is still usable).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The status now.
    pub(crate) fn status(&self) -> Status {
        *self.status.borrow()
    }

    /// A receiver of status changes.
    pub(crate) fn watch_status(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    /// Counts a dial.
    pub(crate) fn dialed(&self) {
        self.status.send_modify(|s| s.dial_attempts += 1);
    }

    /// Records a greeted connection and its control channel.
    pub(crate) fn connected(&self, link: mpsc::Sender<Control>) {
        *self.link.lock().unwrap_or_else(PoisonError::into_inner) = Some(link);
        self.status.send_modify(|s| {
            s.connected = true;
            s.connections += 1;
        });
    }

    /// Records that the connection is gone.
    pub(crate) fn disconnected(&self) {
        *self.link.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.status.send_modify(|s| s.connected = false);
    }

    /// The current connection's control channel, if connected.
    pub(crate) fn link(&self) -> Option<mpsc::Sender<Control>> {
        self.link
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
