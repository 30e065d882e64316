//! The `sessions` rows and the VPS they belong to, as this component reads them. Writes of a
//! session's status go through `chatcode_kit::status`, the one writer.
//!
//! Every read goes through the signed-in user's VPS, so another user's ids are simply absent.

use chatcode_core::ApiError;
use chatcode_kit::db;
use serde::Serialize;
use spin_sdk::sqlite::{Connection, RowResult, Value};

/// A user's VPS as this component needs it.
pub struct OwnedVps {
    pub id: String,
    pub gateway_id: String,
    /// Whether the hub has its gateway recorded as connected.
    pub connected: bool,
}

/// A VPS's columns and where they come from; [`read_vps`] takes them in this order.
const VPS_COLUMNS: &str = "v.id, g.id, g.connected";
const VPS_FROM: &str = "vps v JOIN gateways g ON g.vps_id = v.id";

/// The user's VPS `vps_id`, or `None` (another user's ids included).
pub fn owned_vps(
    conn: &Connection,
    user_id: &str,
    vps_id: &str,
) -> Result<Option<OwnedVps>, ApiError> {
    let result = db::run(
        conn,
        &format!("SELECT {VPS_COLUMNS} FROM {VPS_FROM} WHERE v.id = ? AND v.user_id = ?"),
        &[db::t(vps_id), db::t(user_id)],
    )?;
    Ok(result.rows.first().and_then(read_vps))
}

/// The user's VPS `vps_id` and its session `session_id` in one statement: `None` without the
/// VPS (another user's ids included), the VPS alone without the session.
pub fn owned_session(
    conn: &Connection,
    user_id: &str,
    vps_id: &str,
    session_id: &str,
) -> Result<Option<(OwnedVps, Option<Session>)>, ApiError> {
    let result = db::run(
        conn,
        &format!(
            "SELECT {VPS_COLUMNS}, {SESSION_COLUMNS} FROM {VPS_FROM} \
             LEFT JOIN sessions s ON s.vps_id = v.id AND s.id = ? \
             WHERE v.id = ? AND v.user_id = ?"
        ),
        &[db::t(session_id), db::t(vps_id), db::t(user_id)],
    )?;
    let Some(row) = result.rows.first() else {
        return Ok(None);
    };
    let vps = read_vps(row).ok_or_else(malformed)?;
    let session = match row.get::<&str>(SESSION_AT) {
        Some(_) => Some(read(row, SESSION_AT).ok_or_else(malformed)?),
        None => None,
    };
    Ok(Some((vps, session)))
}

/// Where [`SESSION_COLUMNS`] start after [`VPS_COLUMNS`].
const SESSION_AT: usize = 3;

fn read_vps(row: &RowResult) -> Option<OwnedVps> {
    Some(OwnedVps {
        id: row.get::<&str>(0)?.to_owned(),
        gateway_id: row.get::<&str>(1)?.to_owned(),
        connected: row.get::<i64>(2) == Some(1),
    })
}

/// A session as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub id: String,
    pub vps_id: String,
    pub title: String,
    pub agent_type: String,
    pub workdir: String,
    pub status: String,
    pub error: Option<String>,
    pub exit_code: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub ended_at: Option<i64>,
    pub last_activity_at: Option<i64>,
}

/// A session's columns, as `s.`; [`read`] takes them in this order.
const SESSION_COLUMNS: &str = "s.id, s.vps_id, s.title, s.agent_type, s.workdir, s.status, \
    s.error, s.exit_code, s.created_at, s.updated_at, s.ended_at, s.last_activity_at";

/// The session whose [`SESSION_COLUMNS`] start at column `at`.
fn read(row: &RowResult, at: usize) -> Option<Session> {
    let text = |i: usize| row.get::<&str>(at + i).map(str::to_owned);
    let integer = |i: usize| row.get::<i64>(at + i);
    Some(Session {
        id: text(0)?,
        vps_id: text(1)?,
        title: text(2)?,
        agent_type: text(3)?,
        workdir: text(4)?,
        status: text(5)?,
        error: text(6),
        exit_code: integer(7),
        created_at: integer(8)?,
        updated_at: integer(9)?,
        ended_at: integer(10),
        last_activity_at: integer(11),
    })
}

fn malformed() -> ApiError {
    eprintln!("a sessions row does not have the schema's shape");
    ApiError::internal()
}

fn read_all(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Session>, ApiError> {
    db::run(conn, sql, params)?
        .rows
        .iter()
        .map(|row| read(row, 0).ok_or_else(malformed))
        .collect()
}

/// The VPS's sessions, newest first.
pub fn list(conn: &Connection, vps_id: &str) -> Result<Vec<Session>, ApiError> {
    read_all(
        conn,
        &format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.vps_id = ? ORDER BY s.created_at DESC, s.id"
        ),
        &[db::t(vps_id)],
    )
}

/// One of the VPS's sessions.
pub fn get(conn: &Connection, vps_id: &str, session_id: &str) -> Result<Option<Session>, ApiError> {
    Ok(read_all(
        conn,
        &format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = ? AND s.vps_id = ?"),
        &[db::t(session_id), db::t(vps_id)],
    )?
    .into_iter()
    .next())
}
