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

/// The user's VPS `vps_id`, or `None` (another user's ids included).
pub fn owned_vps(
    conn: &Connection,
    user_id: &str,
    vps_id: &str,
) -> Result<Option<OwnedVps>, ApiError> {
    let result = db::run(
        conn,
        "SELECT v.id, g.id, g.connected FROM vps v JOIN gateways g ON g.vps_id = v.id \
         WHERE v.id = ? AND v.user_id = ?",
        &[db::t(vps_id), db::t(user_id)],
    )?;
    Ok(result.rows.first().and_then(|row| {
        Some(OwnedVps {
            id: row.get::<&str>(0)?.to_owned(),
            gateway_id: row.get::<&str>(1)?.to_owned(),
            connected: row.get::<i64>(2) == Some(1),
        })
    }))
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

const SELECT: &str = "SELECT id, vps_id, title, agent_type, workdir, status, error, exit_code, \
    created_at, updated_at, ended_at, last_activity_at FROM sessions";

fn read(row: &RowResult) -> Option<Session> {
    let text = |i: usize| row.get::<&str>(i).map(str::to_owned);
    Some(Session {
        id: text(0)?,
        vps_id: text(1)?,
        title: text(2)?,
        agent_type: text(3)?,
        workdir: text(4)?,
        status: text(5)?,
        error: text(6),
        exit_code: row.get::<i64>(7),
        created_at: row.get::<i64>(8)?,
        updated_at: row.get::<i64>(9)?,
        ended_at: row.get::<i64>(10),
        last_activity_at: row.get::<i64>(11),
    })
}

fn read_all(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Session>, ApiError> {
    db::run(conn, sql, params)?
        .rows
        .iter()
        .map(|row| {
            read(row).ok_or_else(|| {
                eprintln!("a sessions row does not have the schema's shape");
                ApiError::internal()
            })
        })
        .collect()
}

/// The VPS's sessions, newest first.
pub fn list(conn: &Connection, vps_id: &str) -> Result<Vec<Session>, ApiError> {
    read_all(
        conn,
        &format!("{SELECT} WHERE vps_id = ? ORDER BY created_at DESC, id"),
        &[db::t(vps_id)],
    )
}

/// One of the VPS's sessions.
pub fn get(conn: &Connection, vps_id: &str, session_id: &str) -> Result<Option<Session>, ApiError> {
    Ok(read_all(
        conn,
        &format!("{SELECT} WHERE id = ? AND vps_id = ?"),
        &[db::t(session_id), db::t(vps_id)],
    )?
    .into_iter()
    .next())
}
