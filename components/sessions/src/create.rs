//! `POST /vps/:id/sessions`: validate, check the budget guard (402 at zero credits when the
//! user turned it on), record the session as `starting`, relay
//! `session.create` through the hub, and settle the row on the gateway's answer. No outcome
//! leaves a row `starting`: a refusal, a timeout or an unreachable hub marks it `error`.

use chatcode_core::{
    ApiError, ErrorKind, IdKind,
    ids::new_id,
    protocol::{Command, SessionCreate},
    sessions::{CreateSessionRequest, SessionStatus},
    time::now_ms,
};
use chatcode_kit::{Reply, budget, caller, db, hub, respond, status};
use spin_sdk::http::Request;

use crate::{manage::vps_not_found, store};

/// Largest accepted body (two 64 KiB instruction files and the environment fit).
const MAX_BODY: usize = 256 * 1024;

/// Creates a session on the VPS's gateway; 201 with the session.
pub async fn handle(req: &Request, vps_id: &str) -> Reply {
    let user = caller::require(req)?;
    let conn = db::open()?;
    // Ownership first: a foreign id answers 404 before anything is said about the body.
    let vps = store::owned_vps(&conn, &user.user_id, vps_id)?.ok_or_else(vps_not_found)?;
    let request: CreateSessionRequest = respond::parse_body(req.body(), MAX_BODY)?;
    let session = request.validate().map_err(ApiError::invalid_fields)?;
    budget::allow_new_session(&conn, &user.user_id)?;
    if !vps.connected {
        return Err(hub::RelayError::Offline.into());
    }

    let session_id = new_id(IdKind::Session);
    let agent_config = session
        .agent_config
        .as_ref()
        .and_then(|c| serde_json::to_string(c).ok());
    let now = now_ms();
    status::session_starting(
        &conn,
        &status::NewSession {
            id: &session_id,
            user_id: &user.user_id,
            vps_id: &vps.id,
            title: &session.title,
            agent_type: session.agent.as_str(),
            agent_config: agent_config.as_deref(),
            workdir: &session.workdir,
            now,
        },
    )?;
    let command = Command::SessionCreate(SessionCreate {
        // One request, one id: a retried relay cannot start a second session.
        request_id: format!("create-{session_id}"),
        session_id: session_id.clone(),
        name: session.title.clone(),
        workdir: session.workdir.clone(),
        agent: Some(session.agent),
        agent_config: session.agent_config.clone(),
        env: (!session.env.is_empty()).then(|| session.env.clone()),
    });
    let outcome = hub::relay(&vps.gateway_id, &command).await;
    let failed = |why: &str| {
        status::set_session(
            &conn,
            &session_id,
            SessionStatus::Error,
            Some(why),
            now_ms(),
        )
    };
    match outcome {
        Ok(answer) if answer.ack.ok => {
            let started = answer
                .event
                .as_ref()
                .is_some_and(|e| e["type"] == "session.started");
            if started {
                status::set_session(&conn, &session_id, SessionStatus::Running, None, now_ms())?;
            }
        }
        Ok(answer) => {
            let why = answer.ack.error.unwrap_or_else(|| "refused".into());
            failed(&why)?;
            return Err(ApiError::new(
                ErrorKind::BadGateway,
                format!("the gateway could not start the session: {why}"),
            ));
        }
        Err(e) => {
            failed(&ApiError::from(e.clone()).message)?;
            return Err(e.into());
        }
    }
    let created = store::get(&conn, &vps.id, &session_id)?.ok_or_else(ApiError::internal)?;
    respond::json(201, &created)
}
