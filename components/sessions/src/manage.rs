//! `GET /vps/:id/sessions`, `DELETE /vps/:id/sessions/:sid` and
//! `GET /vps/:id/sessions/:sid/snapshot`.

use chatcode_core::{
    ApiError,
    protocol::{Command, SessionEnd, SnapshotRequest},
    revocation::Revocation,
    sessions::SessionStatus,
    time::now_ms,
};
use chatcode_kit::{
    Reply,
    caller::{self, Caller},
    db, hub, respond, status,
};
use serde_json::json;
use spin_sdk::http::Request;

use crate::{
    gateway,
    store::{self, OwnedVps, Session},
};

/// The answer for a VPS id the user does not own.
pub fn vps_not_found() -> ApiError {
    ApiError::not_found("no such VPS")
}

fn session_not_found() -> ApiError {
    ApiError::not_found("no such session")
}

/// The signed-in user's VPS and one of its sessions, or 404.
pub fn owned_session(
    req: &Request,
    vps_id: &str,
    session_id: &str,
) -> Result<(Caller, OwnedVps, Session, spin_sdk::sqlite::Connection), ApiError> {
    let user = caller::require(req)?;
    let conn = db::open()?;
    let (vps, session) = store::owned_session(&conn, &user.user_id, vps_id, session_id)?
        .ok_or_else(vps_not_found)?;
    let session = session.ok_or_else(session_not_found)?;
    Ok((user, vps, session, conn))
}

/// The signed-in user's VPS, or 404.
pub fn owned_vps(
    req: &Request,
    vps_id: &str,
) -> Result<(Caller, OwnedVps, spin_sdk::sqlite::Connection), ApiError> {
    let user = caller::require(req)?;
    let conn = db::open()?;
    let vps = store::owned_vps(&conn, &user.user_id, vps_id)?.ok_or_else(vps_not_found)?;
    Ok((user, vps, conn))
}

/// Lists the VPS's sessions.
pub fn list(req: &Request, vps_id: &str) -> Reply {
    let (_, vps, conn) = owned_vps(req, vps_id)?;
    respond::json(200, &json!({ "sessions": store::list(&conn, &vps.id)? }))
}

/// Ends a session on its gateway, marks it `ended` and has the hub close its terminals; 204.
/// Ending an ended session is a no-op, and a session that never started (or whose gateway no
/// longer knows it) is simply marked ended.
pub async fn end(req: &Request, vps_id: &str, session_id: &str) -> Reply {
    let (_, vps, session, conn) = owned_session(req, vps_id, session_id)?;
    match session.status.as_str() {
        "ended" => return Ok(respond::no_content(None)),
        "error" => {}
        _ => {
            let command = Command::SessionEnd(SessionEnd {
                request_id: gateway::request_id(&format!("end-{session_id}")),
                session_id: session_id.to_owned(),
            });
            // An `ok: false` means the gateway has no such session any more: it is over.
            hub::relay(&vps.gateway_id, &command).await?;
        }
    }
    status::set_session(&conn, session_id, SessionStatus::Ended, None, now_ms())?;
    hub::revoke(&Revocation::Session {
        gateway_id: vps.gateway_id,
        session_id: session_id.to_owned(),
    })
    .await;
    Ok(respond::no_content(None))
}

/// The session's screen as the gateway reports it now.
pub async fn snapshot(req: &Request, vps_id: &str, session_id: &str) -> Reply {
    let (_, vps, session, _conn) = owned_session(req, vps_id, session_id)?;
    if session.status == "ended" {
        return Err(ApiError::conflict("the session has ended"));
    }
    let command = Command::SessionSnapshot(SnapshotRequest {
        request_id: gateway::request_id("snapshot"),
        session_id: session_id.to_owned(),
    });
    let event = gateway::ask(&vps.gateway_id, &command, false).await?;
    respond::json(200, &event)
}
