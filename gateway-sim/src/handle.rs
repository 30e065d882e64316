//! [`SimHandle`]: what a test holds to watch and steer a running simulator.

use std::sync::Arc;
use std::time::Duration;

use chatcode_core::protocol::Command;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::connection::Control;
use crate::session::SessionInfo;
use crate::state::{SessionState, Shared, Status};

/// How long [`SimHandle::stop`] waits for the task before aborting it.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a handle request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// The wait ran out.
    #[error("timed out")]
    Timeout,
    /// No socket is up, or it went away before the request was done.
    #[error("the simulator is not connected")]
    NotConnected,
    /// No live session has this id.
    #[error("no live session {0}")]
    UnknownSession(String),
}

/// A running simulated gateway. Dropping it stops the simulator; its sessions are lost, as when
/// the process is killed.
pub struct SimHandle {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl SimHandle {
    pub(crate) fn new(
        shared: Arc<Shared>,
        shutdown: watch::Sender<bool>,
        task: JoinHandle<()>,
    ) -> SimHandle {
        SimHandle {
            shared,
            shutdown,
            task: Some(task),
        }
    }

    /// Waits until a socket is up and the greeting (hello, snapshots) is sent.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), SimError> {
        self.wait_status(timeout, |s| s.connected).await
    }

    /// Waits until at least `n` connects have succeeded and one is up.
    pub async fn wait_connections(&self, n: u64, timeout: Duration) -> Result<(), SimError> {
        self.wait_status(timeout, |s| s.connected && s.connections >= n)
            .await
    }

    /// Whether a socket is up.
    pub fn is_connected(&self) -> bool {
        self.shared.status().connected
    }

    /// How many connects have succeeded.
    pub fn connections(&self) -> u64 {
        self.shared.status().connections
    }

    /// How many dials were tried, failed ones included.
    pub fn dial_attempts(&self) -> u64 {
        self.shared.status().dial_attempts
    }

    /// The live sessions, by id.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let inner = self.shared.lock();
        let live = inner.vps.sessions.values().filter(|s| s.is_live());
        live.map(|s| s.info()).collect()
    }

    /// One live session.
    pub fn session(&self, session_id: &str) -> Option<SessionInfo> {
        let inner = self.shared.lock();
        let session = inner.vps.sessions.get(session_id)?;
        session.is_live().then(|| session.info())
    }

    /// The commands received, oldest first (the last [`crate::COMMAND_LOG_LEN`]).
    pub fn received_commands(&self) -> Vec<Command> {
        self.shared.lock().log.iter().cloned().collect()
    }

    /// Prints `bytes` in a session, as if its program wrote them; they go out with the next
    /// output batch (or, while disconnected, in the snapshot after the reconnect).
    pub fn emit_output(&self, session_id: &str, bytes: &[u8]) -> Result<(), SimError> {
        let mut inner = self.shared.lock();
        match inner.vps.sessions.get_mut(session_id) {
            Some(session) if session.is_live() => {
                session.print(bytes);
                Ok(())
            }
            _ => Err(SimError::UnknownSession(session_id.to_string())),
        }
    }

    /// Makes a session's program exit with `exit_code`: `session.ended` follows with the next
    /// output batch (or after the reconnect).
    pub fn exit_session(&self, session_id: &str, exit_code: i32) -> Result<(), SimError> {
        let mut inner = self.shared.lock();
        match inner.vps.sessions.get_mut(session_id) {
            Some(session) if session.is_live() => {
                session.exit(exit_code);
                Ok(())
            }
            _ => Err(SimError::UnknownSession(session_id.to_string())),
        }
    }

    /// Makes the next `session.create` fail: `ack` with `ok: false` and `error`, no session.
    pub fn fail_next_create(&self, error: impl Into<String>) {
        self.shared.lock().faults.fail_next_create = Some(error.into());
    }

    /// Leaves the next `n` commands unanswered and not carried out (they are still logged), so
    /// the control plane's request times out.
    pub fn drop_next_acks(&self, n: u32) {
        self.shared.lock().faults.drop_acks = n;
    }

    /// Sends a text frame as is (an unknown event, a hello with another id, broken JSON).
    pub async fn send_raw_text(&self, text: impl Into<String>) -> Result<(), SimError> {
        let link = self.shared.link().ok_or(SimError::NotConnected)?;
        let (done, written) = oneshot::channel();
        link.send(Control::SendRaw(text.into(), done))
            .await
            .map_err(|_| SimError::NotConnected)?;
        written.await.map_err(|_| SimError::NotConnected)
    }

    /// Drops the socket without a closing handshake; the simulator reconnects after the
    /// back-off. Returns once the connection is marked gone; false if none was up.
    pub async fn disconnect(&self) -> bool {
        let Some(link) = self.shared.link() else {
            return false;
        };
        let (done, dropped) = oneshot::channel();
        if link.send(Control::Disconnect(done)).await.is_err() {
            return false;
        }
        dropped.await.is_ok()
    }

    /// Stops the simulator and waits for it: the socket closes with 1001 and the sessions are
    /// lost, as when the process is killed.
    pub async fn stop(mut self) {
        self.halt().await;
    }

    /// Stops the simulator and returns what survives a gateway restart (tmux sessions, the
    /// disk), for [`crate::GatewaySim::start_with`].
    pub async fn stop_keep_sessions(mut self) -> SessionState {
        self.halt().await;
        std::mem::take(&mut self.shared.lock().vps)
    }

    async fn halt(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(STOP_TIMEOUT, &mut task).await.is_err()
        {
            task.abort();
        }
    }

    async fn wait_status(
        &self,
        timeout: Duration,
        ready: impl FnMut(&Status) -> bool,
    ) -> Result<(), SimError> {
        let mut status = self.shared.watch_status();
        match tokio::time::timeout(timeout, status.wait_for(ready)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(SimError::NotConnected),
            Err(_) => Err(SimError::Timeout),
        }
    }
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("status", &self.shared.status())
            .finish_non_exhaustive()
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
