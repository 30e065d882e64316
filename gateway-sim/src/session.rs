//! One simulated tmux session: its terminal, its output not yet sent, and its frame `seq`.

use std::time::SystemTime;

use chatcode_core::protocol::frame::{self, GATEWAY_PAYLOAD_BYTES};
use chatcode_core::protocol::{Agent, SessionCreate, SessionSnapshot};

use crate::terminal::{PROMPT, Screen, Shell};

/// Columns of a new session, tmux's default.
pub const DEFAULT_COLS: u16 = 80;
/// Rows of a new session, tmux's default.
pub const DEFAULT_ROWS: u16 = 24;
/// Most output held back for one session (1 MiB); older bytes are dropped beyond it, as a
/// snapshot after a reconnect covers them.
const MAX_PENDING_BYTES: usize = 1024 * 1024;

/// What a test can see of a live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session's id.
    pub session_id: String,
    /// The `seq` of the next output frame: the number of frames sent so far.
    pub next_seq: u64,
    /// The highest `seq` the control plane acknowledged with `session.ack`.
    pub acked_seq: Option<u64>,
    /// Output printed but not sent yet (it goes with the next batch, or, after a reconnect,
    /// in the greeting's snapshot).
    pub pending_bytes: usize,
    /// Terminal columns.
    pub cols: u16,
    /// Terminal rows.
    pub rows: u16,
    /// The simulated process id.
    pub pid: u32,
    /// The agent it was created for.
    pub agent: Agent,
    /// Its working directory.
    pub workdir: String,
}

/// A simulated session.
#[derive(Debug, Clone)]
pub(crate) struct SimSession {
    id: String,
    agent: Agent,
    workdir: String,
    pid: u32,
    shell: Shell,
    screen: Screen,
    next_seq: u64,
    acked_seq: Option<u64>,
    /// Output printed but not yet sent as frames.
    pending: Vec<u8>,
    last_activity: SystemTime,
    /// The exit code once the program has exited; the session goes once that is reported.
    exited: Option<i32>,
}

impl SimSession {
    /// A new session for `create`, its shell showing the prompt.
    pub(crate) fn new(create: &SessionCreate, pid: u32) -> SimSession {
        let mut session = SimSession {
            id: create.session_id.clone(),
            agent: create.agent.unwrap_or_default(),
            workdir: create.workdir.clone(),
            pid,
            shell: Shell::default(),
            screen: Screen::new(DEFAULT_COLS, DEFAULT_ROWS),
            next_seq: 0,
            acked_seq: None,
            pending: Vec::new(),
            last_activity: SystemTime::now(),
            exited: None,
        };
        session.print(PROMPT);
        session
    }

    /// The session's id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// When input or output last happened.
    pub(crate) fn last_activity(&self) -> SystemTime {
        self.last_activity
    }

    /// Whether its program is still running.
    pub(crate) fn is_live(&self) -> bool {
        self.exited.is_none()
    }

    /// The exit code, once the program exited.
    pub(crate) fn exit_code(&self) -> Option<i32> {
        self.exited
    }

    /// Types `bytes` into the shell; its echo and output are printed.
    pub(crate) fn input(&mut self, bytes: &[u8]) {
        if self.exited.is_some() {
            return;
        }
        let mut out = Vec::new();
        let exit = self.shell.feed(bytes, &mut out);
        self.print(&out);
        if exit.is_some() {
            self.exited = exit;
        }
    }

    /// Output from the program: shown on the screen and queued for the next frames.
    pub(crate) fn print(&mut self, bytes: &[u8]) {
        self.screen.feed(bytes);
        self.pending.extend_from_slice(bytes);
        if self.pending.len() > MAX_PENDING_BYTES {
            let excess = self.pending.len() - MAX_PENDING_BYTES;
            self.pending.drain(..excess);
        }
        self.last_activity = SystemTime::now();
    }

    /// Marks the program as exited with `code`.
    pub(crate) fn exit(&mut self, code: i32) {
        self.exited.get_or_insert(code);
    }

    /// Resizes the terminal.
    pub(crate) fn resize(&mut self, cols: u16, rows: u16) {
        self.screen.resize(cols, rows);
    }

    /// Records the control plane's acknowledgement.
    pub(crate) fn ack(&mut self, seq: u64) {
        self.acked_seq = Some(self.acked_seq.map_or(seq, |acked| acked.max(seq)));
    }

    /// The pending output as encoded frames of at most 16 KiB of payload, each taking the next
    /// `seq`.
    pub(crate) fn take_frames(&mut self) -> Vec<Vec<u8>> {
        let pending = std::mem::take(&mut self.pending);
        let mut frames = Vec::new();
        for chunk in pending.chunks(GATEWAY_PAYLOAD_BYTES) {
            match frame::encode_output(&self.id, self.next_seq, chunk) {
                Ok(bytes) => {
                    frames.push(bytes);
                    self.next_seq += 1;
                }
                Err(err) => tracing::error!(session = %self.id, %err, "cannot encode a frame"),
            }
        }
        frames
    }

    /// Drops the pending output: a snapshot is about to show it.
    pub(crate) fn discard_pending(&mut self) {
        self.pending.clear();
    }

    /// The screen as a `session.snapshot`.
    pub(crate) fn snapshot(&self, request_id: Option<String>) -> SessionSnapshot {
        let (cols, rows) = self.screen.size();
        let (cursor_x, cursor_y) = self.screen.cursor();
        SessionSnapshot {
            request_id,
            session_id: self.id.clone(),
            content: self.screen.content(),
            cols: Some(cols),
            rows: Some(rows),
            cursor_x: Some(cursor_x),
            cursor_y: Some(cursor_y),
            cursor_visible: Some(self.screen.cursor_visible()),
            alternate_on: Some(self.screen.alternate_on()),
        }
    }

    /// What a test can see of it.
    pub(crate) fn info(&self) -> SessionInfo {
        let (cols, rows) = self.screen.size();
        SessionInfo {
            session_id: self.id.clone(),
            next_seq: self.next_seq,
            acked_seq: self.acked_seq,
            pending_bytes: self.pending.len(),
            cols,
            rows,
            pid: self.pid,
            agent: self.agent,
            workdir: self.workdir.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chatcode_core::protocol::frame::decode;

    use super::*;

    fn session() -> SimSession {
        let create = SessionCreate {
            request_id: "r".into(),
            session_id: "ses-1".into(),
            name: "n".into(),
            workdir: "/w".into(),
            agent: None,
            agent_config: None,
            env: None,
        };
        SimSession::new(&create, 7)
    }

    #[test]
    fn frames_are_chunked_and_numbered() {
        let mut s = session();
        s.print(&vec![b'x'; GATEWAY_PAYLOAD_BYTES * 2 + 1]);
        let frames = s.take_frames();
        let decoded: Vec<_> = frames.iter().filter_map(|f| decode(f).ok()).collect();
        let seqs: Vec<u64> = decoded.iter().map(|f| f.seq).collect();
        let sizes: Vec<usize> = decoded.iter().map(|f| f.payload.len()).collect();
        assert_eq!(seqs, [0, 1, 2]);
        assert_eq!(
            sizes,
            [
                GATEWAY_PAYLOAD_BYTES,
                GATEWAY_PAYLOAD_BYTES,
                PROMPT.len() + 1
            ]
        );
        assert!(s.take_frames().is_empty());
        assert_eq!(s.info().next_seq, 3);
    }

    #[test]
    fn typing_exit_ends_it() {
        let mut s = session();
        s.input(b"echo hi\r");
        assert!(s.is_live());
        assert!(s.snapshot(None).content.contains("$ echo hi\r\nhi\r\n$"));
        s.input(b"exit 2\r");
        assert_eq!(s.exit_code(), Some(2));
        s.exit(5);
        assert_eq!(s.exit_code(), Some(2), "the first exit code stays");
    }

    #[test]
    fn pending_output_is_bounded() {
        let mut s = session();
        s.print(&vec![b'y'; MAX_PENDING_BYTES + 100]);
        let frames = s.take_frames();
        let payload: usize = frames
            .iter()
            .filter_map(|f| decode(f).ok())
            .map(|f| f.payload.len())
            .sum();
        assert_eq!(payload, MAX_PENDING_BYTES);
    }
}
