//! Answers to commands: a JSON text from the control plane becomes its `ack`, the typed answer
//! and any output owed, as the real gateway sends them.

use chatcode_core::protocol::{
    Ack, Agent, AgentInstalled, AgentsStatus, Command, Event, MAX_REQUEST_ID_BYTES, ProtocolError,
    SessionCreate, SessionStarted, SshKeys, WorkspaceFolders, decode_data, parse_command,
};
use serde_json::{Value, json};

use crate::config::SimConfig;
use crate::outbox::{self, Out};
use crate::session::SimSession;
use crate::state::{Inner, agent_version};

/// Exit code reported when `session.end` kills a running session.
pub const END_EXIT_CODE: i32 = 0;

/// The messages answering one text frame. Never panics; a text that is not a command gets an
/// `ack` with `ok: false` when it carries a `request_id`, and nothing otherwise.
pub(crate) fn on_text(inner: &mut Inner, config: &SimConfig, text: &str) -> Vec<Out> {
    match parse_command(text) {
        Ok(command) => {
            inner.log(command.clone());
            if inner.faults.drop_acks > 0 {
                inner.faults.drop_acks -= 1;
                tracing::info!(
                    request_id = command.request_id(),
                    "dropping a command unanswered"
                );
                return Vec::new();
            }
            dispatch(inner, config, command)
        }
        Err(err) => {
            let Some(request_id) = request_id_of(text) else {
                tracing::warn!(%err, "refused a text frame with no request_id");
                return Vec::new();
            };
            tracing::warn!(%err, request_id, "refused a command");
            let reason = match err {
                ProtocolError::UnknownType { type_name } => {
                    format!("unknown command {type_name:?}")
                }
                other => other.to_string(),
            };
            vec![ack(&request_id, Err(reason))]
        }
    }
}

fn dispatch(inner: &mut Inner, config: &SimConfig, command: Command) -> Vec<Out> {
    let rid = command.request_id().to_string();
    let session_id = command.session_id().map(str::to_string);
    if let Some(id) = &session_id
        && !matches!(command, Command::SessionCreate(_))
        && !inner.vps.sessions.get(id).is_some_and(SimSession::is_live)
    {
        return vec![ack(&rid, Err(format!("session {id} not found")))];
    }
    let sid = session_id.unwrap_or_default();
    match command {
        Command::SessionCreate(create) => create_session(inner, config, create),
        Command::SessionInput(input) => {
            let Some(bytes) = decode_data(&input.data) else {
                return vec![ack(&rid, Err("data must be base64".into()))];
            };
            with_session(inner, &sid, |s| s.input(&bytes));
            let mut out = vec![ack(&rid, Ok(()))];
            if inner.vps.sessions.get(&sid).is_some_and(|s| !s.is_live()) {
                out.extend(outbox::flush_session(inner, &sid));
            }
            out
        }
        Command::SessionResize(resize) => {
            with_session(inner, &sid, |s| {
                s.resize(resize.cols.get(), resize.rows.get())
            });
            vec![ack(&rid, Ok(()))]
        }
        Command::SessionEnd(_) => {
            let mut out = vec![ack(&rid, Ok(()))];
            out.extend(outbox::end_session(inner, &sid, END_EXIT_CODE));
            out
        }
        Command::SessionAck(seen) => {
            with_session(inner, &sid, |s| s.ack(seen.seq));
            vec![ack(&rid, Ok(()))]
        }
        Command::SessionSnapshot(_) => {
            // Frames first, so the snapshot shows exactly the output of frames below `next_seq`.
            let mut out = vec![ack(&rid, Ok(()))];
            out.extend(outbox::flush_session(inner, &sid));
            if let Some(session) = inner.vps.sessions.get(&sid) {
                out.push(Event::SessionSnapshot(session.snapshot(Some(rid))).into());
            }
            out
        }
        Command::SshAuthorize(add) => {
            let result =
                inner
                    .vps
                    .keys
                    .authorize(&add.public_key, &add.label, add.expires_at.as_deref());
            with_keys(inner, &rid, result)
        }
        Command::SshRevoke(revoke) => {
            let result = inner.vps.keys.revoke(&revoke.fingerprint);
            with_keys(inner, &rid, result)
        }
        Command::SshList(_) => with_keys(inner, &rid, Ok(())),
        Command::AgentsInstall(install) => {
            let Some(agent) = Agent::from_name(&install.agent).filter(|a| *a != Agent::None) else {
                return vec![ack(&rid, Err(format!("unknown agent {:?}", install.agent)))];
            };
            let version = agent_version(agent).to_string();
            inner.vps.agents.insert(agent.as_str(), version.clone());
            vec![
                ack(&rid, Ok(())),
                Event::AgentInstalled(AgentInstalled {
                    request_id: rid,
                    agent: agent.as_str().to_string(),
                    version: Some(version),
                })
                .into(),
            ]
        }
        Command::AgentsList(_) => {
            let agents = Agent::ALL
                .into_iter()
                .filter(|a| *a != Agent::None)
                .map(|a| match inner.vps.agents.get(a.as_str()) {
                    Some(v) => json!({"name": a.as_str(), "installed": true, "version": v}),
                    None => json!({"name": a.as_str(), "installed": false}),
                })
                .collect();
            let status = AgentsStatus {
                request_id: rid.clone(),
                agents,
            };
            vec![ack(&rid, Ok(())), Event::AgentsStatus(status).into()]
        }
        Command::WorkspaceList(_) => {
            let folders = inner.vps.folders.iter().map(|path| folder(path)).collect();
            let folders = WorkspaceFolders {
                request_id: rid.clone(),
                folders,
            };
            vec![ack(&rid, Ok(())), Event::WorkspaceFolders(folders).into()]
        }
        other => {
            let reason = format!("{} is not supported by the simulator", other.type_name());
            vec![ack(&rid, Err(reason))]
        }
    }
}

fn create_session(inner: &mut Inner, config: &SimConfig, create: SessionCreate) -> Vec<Out> {
    let rid = create.request_id.clone();
    if let Some(error) = inner.faults.fail_next_create.take() {
        return vec![ack(&rid, Err(error))];
    }
    if inner.vps.sessions.contains_key(&create.session_id) {
        let reason = format!("session {} already exists", create.session_id);
        return vec![ack(&rid, Err(reason))];
    }
    let live = inner.vps.sessions.values().filter(|s| s.is_live()).count();
    if let Some(max) = config.max_sessions.filter(|max| live >= *max) {
        return vec![ack(&rid, Err(format!("session limit of {max} reached")))];
    }
    let pid = inner.next_pid();
    let session = SimSession::new(&create, pid);
    inner.vps.folders.insert(create.workdir.clone());
    inner
        .vps
        .sessions
        .insert(create.session_id.clone(), session);
    let started = SessionStarted {
        request_id: rid.clone(),
        session_id: create.session_id,
        pid: Some(pid),
    };
    vec![ack(&rid, Ok(())), Event::SessionStarted(started).into()]
}

fn with_session(inner: &mut Inner, session_id: &str, f: impl FnOnce(&mut SimSession)) {
    if let Some(session) = inner.vps.sessions.get_mut(session_id) {
        f(session);
    }
}

/// The `ack` for an `ssh.*` command, then, when it succeeded, `ssh.keys` with every key.
fn with_keys(inner: &mut Inner, rid: &str, result: Result<(), crate::ssh::KeyError>) -> Vec<Out> {
    if let Err(err) = result {
        return vec![ack(rid, Err(err.to_string()))];
    }
    let keys = SshKeys {
        request_id: rid.to_string(),
        keys: inner.vps.keys.list(),
    };
    vec![ack(rid, Ok(())), Event::SshKeys(keys).into()]
}

fn folder(path: &str) -> Value {
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|name| !name.is_empty())
        .unwrap_or(path);
    json!({"name": name, "path": path})
}

fn ack(request_id: &str, result: Result<(), String>) -> Out {
    let (ok, error) = match result {
        Ok(()) => (true, None),
        Err(error) => (false, Some(error)),
    };
    Event::Ack(Ack {
        request_id: request_id.to_string(),
        ok,
        error,
    })
    .into()
}

/// The `request_id` of a refused text, if it has a usable one.
fn request_id_of(text: &str) -> Option<String> {
    let value: Value = serde_json::from_str(text).ok()?;
    let id = value.get("request_id")?.as_str()?;
    (!id.is_empty() && id.len() <= MAX_REQUEST_ID_BYTES).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use chatcode_core::protocol::{Incoming, parse_event};

    use super::*;
    use crate::state::{Faults, SessionState};

    fn inner() -> Inner {
        Inner {
            vps: SessionState::fresh(),
            log: Default::default(),
            faults: Faults::default(),
        }
    }

    fn config() -> SimConfig {
        SimConfig::new("ws://127.0.0.1:1/gw/connect", "gw-1", "t")
    }

    fn events(out: &[Out]) -> Vec<Event> {
        out.iter()
            .filter_map(|o| match o {
                Out::Text(text) => match parse_event(text) {
                    Ok(Incoming::Event(e)) => Some(e),
                    other => panic!("{text}: {other:?}"),
                },
                Out::Binary(_) => None,
            })
            .collect()
    }

    fn acked(out: &[Out]) -> (bool, Option<String>) {
        match events(out).first() {
            Some(Event::Ack(a)) => (a.ok, a.error.clone()),
            other => panic!("not an ack first: {other:?}"),
        }
    }

    #[test]
    fn garbage_never_panics() {
        let (mut inner, config) = (inner(), config());
        let texts = [
            "",
            "null",
            "[]",
            "{\"type\":1}",
            "{\"type\":\"session.create\",\"schema_version\":\"1\"}",
            "{\"type\":\"nope\",\"schema_version\":\"1\",\"request_id\":\"r1\"}",
            "{\"type\":\"session.input\",\"schema_version\":\"1\",\"request_id\":\"r2\",\"session_id\":\"s\",\"data\":\"***\"}",
            "{\"type\":\"ssh.list\",\"schema_version\":\"2\",\"request_id\":\"r3\"}",
        ];
        let answers: Vec<_> = texts
            .iter()
            .map(|t| on_text(&mut inner, &config, t))
            .collect();
        assert!(answers[..5].iter().all(Vec::is_empty));
        assert_eq!(
            acked(&answers[5]),
            (false, Some("unknown command \"nope\"".into()))
        );
        assert!(!acked(&answers[6]).0);
        assert!(!acked(&answers[7]).0);
        assert!(inner.log.is_empty());
    }

    #[test]
    fn commands_on_unknown_sessions_fail() {
        let (mut inner, config) = (inner(), config());
        for command in [
            r#"{"type":"session.end","schema_version":"1","request_id":"r","session_id":"ses-x"}"#,
            r#"{"type":"session.snapshot","schema_version":"1","request_id":"r","session_id":"ses-x"}"#,
            r#"{"type":"session.ack","schema_version":"1","request_id":"r","session_id":"ses-x","seq":1}"#,
        ] {
            let out = on_text(&mut inner, &config, command);
            assert_eq!(acked(&out), (false, Some("session ses-x not found".into())));
        }
        assert_eq!(inner.log.len(), 3);
    }

    #[test]
    fn the_session_limit_holds() {
        let (mut inner, mut config) = (inner(), config());
        config.max_sessions = Some(1);
        let create = |sid: &str| {
            format!(
                r#"{{"type":"session.create","schema_version":"1","request_id":"r-{sid}","session_id":"{sid}","name":"n","workdir":"/w"}}"#
            )
        };
        assert!(acked(&on_text(&mut inner, &config, &create("ses-1"))).0);
        let refused = on_text(&mut inner, &config, &create("ses-2"));
        assert_eq!(
            acked(&refused),
            (false, Some("session limit of 1 reached".into()))
        );
        assert_eq!(events(&refused).len(), 1, "no session.started");
    }

    #[test]
    fn folder_names() {
        assert_eq!(folder("/home/u/app/")["name"], "app");
        assert_eq!(folder("/")["name"], "/");
        assert_eq!(folder("rel")["name"], "rel");
    }
}
