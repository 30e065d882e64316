//! Messages to send, and the ones owed unasked: output frames, `session.ended` for programs
//! that exited, and the greeting after each connect.

use chatcode_core::protocol::{Event, SessionEnded};

use crate::config::SimConfig;
use crate::health;
use crate::state::Inner;

/// One WebSocket message for the control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Out {
    /// A JSON event.
    Text(String),
    /// An output frame.
    Binary(Vec<u8>),
}

impl From<Event> for Out {
    fn from(event: Event) -> Out {
        Out::Text(event.to_json())
    }
}

/// The pending output of every session as frames, then `session.ended` (and removal) for each
/// session whose program exited.
pub(crate) fn flush_all(inner: &mut Inner) -> Vec<Out> {
    let ids: Vec<String> = inner.vps.sessions.keys().cloned().collect();
    ids.iter().flat_map(|id| flush_session(inner, id)).collect()
}

/// The pending output of one session as frames, then `session.ended` if its program exited.
pub(crate) fn flush_session(inner: &mut Inner, session_id: &str) -> Vec<Out> {
    let Some(session) = inner.vps.sessions.get_mut(session_id) else {
        return Vec::new();
    };
    let mut out: Vec<Out> = session.take_frames().into_iter().map(Out::Binary).collect();
    if let Some(exit_code) = session.exit_code() {
        out.push(ended(session_id, exit_code));
        inner.vps.sessions.remove(session_id);
    }
    out
}

/// Ends a session now: its pending output, then `session.ended` with its exit code (or
/// `exit_code` if it was still running).
pub(crate) fn end_session(inner: &mut Inner, session_id: &str, exit_code: i32) -> Vec<Out> {
    if let Some(session) = inner.vps.sessions.get_mut(session_id) {
        session.exit(exit_code);
    }
    flush_session(inner, session_id)
}

/// What a fresh connection starts with: `gateway.hello`, then a `session.snapshot` for each
/// live session (its unsent output is in the snapshot, so it is dropped and `seq` goes on),
/// and `session.ended` for each that exited while disconnected.
pub(crate) fn greeting(inner: &mut Inner, config: &SimConfig) -> Vec<Out> {
    let mut out = vec![Out::from(health::hello(config))];
    let mut exited = Vec::new();
    for session in inner.vps.sessions.values_mut() {
        match session.exit_code() {
            None => {
                session.discard_pending();
                out.push(Event::SessionSnapshot(session.snapshot(None)).into());
            }
            Some(code) => exited.push((session.id().to_string(), code)),
        }
    }
    for (id, code) in exited {
        inner.vps.sessions.remove(&id);
        out.push(ended(&id, code));
    }
    out
}

fn ended(session_id: &str, exit_code: i32) -> Out {
    Event::SessionEnded(SessionEnded {
        session_id: session_id.to_string(),
        exit_code: Some(exit_code),
    })
    .into()
}
