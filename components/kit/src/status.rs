//! The one writer of gateway and session status: every SQL statement that records a gateway
//! connecting, greeting, reporting health or going away, and a session starting, running,
//! failing, ending or losing its gateway. The `gateways` component (the hub's events and
//! sweeps) and the `sessions` component (create, end) both write through here.

use chatcode_core::{
    ApiError,
    protocol::{ActiveSession, GatewayHealth, GatewayHello},
    sessions::SessionStatus,
    time::parse_rfc3339_ms,
    vps::{PROVISIONING_TIMEOUT_MS, VpsStatus},
};
use serde_json::json;
use spin_sdk::sqlite::{Connection, Value};

use crate::db;

/// How long a gateway may be gone before its sessions count as disconnected: longer than
/// its reconnect back-off (30 s) with room for a restart.
pub const GATEWAY_GRACE_MS: i64 = 90_000;
/// Sessions of one health report taken into account, at most (SQLite binds ≤ 32766).
const MAX_REPORTED_SESSIONS: usize = 1000;

/// A new session's row, recorded `starting`.
pub struct NewSession<'a> {
    /// `sessions.id`.
    pub id: &'a str,
    /// Its owner.
    pub user_id: &'a str,
    /// The VPS it runs on.
    pub vps_id: &'a str,
    /// Its title.
    pub title: &'a str,
    /// The agent it runs.
    pub agent_type: &'a str,
    /// The agent's configuration (JSON), if any.
    pub agent_config: Option<&'a str>,
    /// Its working directory.
    pub workdir: &'a str,
    /// Unix ms.
    pub now: i64,
}

/// Records a new session as `starting`.
pub fn session_starting(conn: &Connection, row: &NewSession<'_>) -> Result<(), ApiError> {
    db::run(
        conn,
        "INSERT INTO sessions (id, user_id, vps_id, title, agent_type, agent_config, workdir, \
         status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'starting', ?, ?)",
        &[
            db::t(row.id),
            db::t(row.user_id),
            db::t(row.vps_id),
            db::t(row.title),
            db::t(row.agent_type),
            db::opt(row.agent_config),
            db::t(row.workdir),
            Value::Integer(row.now),
            Value::Integer(row.now),
        ],
    )?;
    Ok(())
}

/// Moves a session to `status` (with its error, if any), as the app decided it (a create's
/// answer, an end asked for). Ending also stamps `ended_at`.
pub fn set_session(
    conn: &Connection,
    session_id: &str,
    status: SessionStatus,
    error: Option<&str>,
    now: i64,
) -> Result<(), ApiError> {
    db::run(
        conn,
        "UPDATE sessions SET status = ?1, error = COALESCE(?2, error), updated_at = ?3, \
         ended_at = CASE WHEN ?1 = 'ended' THEN COALESCE(ended_at, ?3) ELSE ended_at END \
         WHERE id = ?4",
        &[
            db::t(status.as_str()),
            db::opt(error),
            Value::Integer(now),
            db::t(session_id),
        ],
    )?;
    Ok(())
}

/// One gateway whose events are being recorded, inside the caller's transaction.
pub struct GatewayRows<'a> {
    /// The open connection.
    pub conn: &'a Connection,
    /// The gateway.
    pub gateway_id: &'a str,
    /// Its VPS.
    pub vps_id: &'a str,
    /// Unix ms of the recording.
    pub now: i64,
}

impl GatewayRows<'_> {
    /// Its socket opened (`connected`) or closed, at `at`.
    pub fn connection(&self, at: i64, connected: bool) -> Result<(), ApiError> {
        let sql = if connected {
            "UPDATE gateways SET connected = 1, disconnected_at = NULL, \
             last_seen_at = MAX(COALESCE(last_seen_at, 0), ?1), updated_at = ?2 WHERE id = ?3"
        } else {
            "UPDATE gateways SET connected = 0, disconnected_at = ?1, updated_at = ?2 \
             WHERE id = ?3"
        };
        self.update_gateway(sql, at, &[])
    }

    /// Its `gateway.hello`: version, host and machine; its VPS is active from now on.
    pub fn hello(&self, at: i64, hello: &GatewayHello) -> Result<(), ApiError> {
        let system_info = serde_json::to_string(&hello.system_info).map_err(|e| {
            eprintln!("serializing system info: {e}");
            ApiError::internal()
        })?;
        self.update_gateway(
            "UPDATE gateways SET last_seen_at = MAX(COALESCE(last_seen_at, 0), ?1), \
             updated_at = ?2, version = ?4, hostname = ?5, system_info = ?6, connected = 1, \
             disconnected_at = NULL WHERE id = ?3",
            at,
            &[
                db::t(&hello.version),
                db::t(&hello.hostname),
                db::t(&system_info),
            ],
        )?;
        let status = db::text(
            &db::run(
                self.conn,
                "SELECT status FROM vps WHERE id = ?",
                &[db::t(self.vps_id)],
            )?,
            0,
            0,
        )
        .as_deref()
        .and_then(VpsStatus::parse);
        if let Some(status) = status.filter(|s| s.after_hello() != *s) {
            db::run(
                self.conn,
                "UPDATE vps SET status = ?, updated_at = ? WHERE id = ?",
                &[
                    db::t(status.after_hello().as_str()),
                    Value::Integer(self.now),
                    db::t(self.vps_id),
                ],
            )?;
        }
        Ok(())
    }

    /// Its `gateway.health`: the report, and its sessions' activity; a session older than the
    /// grace that the report no longer lists has ended.
    pub fn health(&self, at: i64, health: &GatewayHealth) -> Result<(), ApiError> {
        let active = health.active_sessions.as_deref().unwrap_or_default();
        let stored = json!({
            "timestamp": health.timestamp,
            "received_at": at,
            "cpu_percent": health.cpu_percent,
            "ram_used_bytes": health.ram_used_bytes,
            "ram_total_bytes": health.ram_total_bytes,
            "disk_used_bytes": health.disk_used_bytes,
            "disk_total_bytes": health.disk_total_bytes,
            "uptime_seconds": health.uptime_seconds,
            "active_sessions": active.len(),
        });
        self.update_gateway(
            "UPDATE gateways SET last_seen_at = MAX(COALESCE(last_seen_at, 0), ?1), \
             updated_at = ?2, last_health = ?4 WHERE id = ?3",
            at,
            &[db::t(&stored.to_string())],
        )?;
        if health.active_sessions.is_some() {
            self.end_unreported(at, active)?;
        }
        for session in active {
            let activity = parse_rfc3339_ms(&session.last_activity_at).unwrap_or(at);
            self.session(
                "last_activity_at = MAX(COALESCE(last_activity_at, 0), ?2), status = CASE \
                 WHEN status IN ('starting', 'disconnected') THEN 'running' ELSE status END",
                "status <> 'ended'",
                &session.session_id,
                &[Value::Integer(activity)],
            )?;
        }
        Ok(())
    }

    /// `session.started`: the session runs.
    pub fn session_started(&self, at: i64, session_id: &str) -> Result<(), ApiError> {
        self.session(
            "status = 'running', last_activity_at = ?2",
            "status IN ('starting', 'running', 'disconnected')",
            session_id,
            &[Value::Integer(at)],
        )
    }

    /// `session.ended`: its process exited.
    pub fn session_ended(
        &self,
        at: i64,
        session_id: &str,
        exit_code: Option<i32>,
    ) -> Result<(), ApiError> {
        self.session(
            "status = 'ended', ended_at = ?2, exit_code = ?3",
            "status <> 'ended'",
            session_id,
            &[
                Value::Integer(at),
                exit_code.map_or(Value::Null, |c| Value::Integer(c.into())),
            ],
        )
    }

    /// `session.error`: it failed.
    pub fn session_error(&self, session_id: &str, error: &str) -> Result<(), ApiError> {
        self.session(
            "status = 'error', error = ?2",
            "status <> 'ended'",
            session_id,
            &[db::t(error)],
        )
    }

    /// Sessions the gateway's report leaves out, older than the grace, have ended.
    fn end_unreported(&self, at: i64, active: &[ActiveSession]) -> Result<(), ApiError> {
        let active = &active[..active.len().min(MAX_REPORTED_SESSIONS)];
        let placeholders = vec!["?"; active.len()].join(", ");
        let not_listed = if active.is_empty() {
            String::new()
        } else {
            format!(" AND id NOT IN ({placeholders})")
        };
        let sql = format!(
            "UPDATE sessions SET status = 'ended', ended_at = COALESCE(ended_at, ?), \
             updated_at = ? WHERE vps_id = ? AND status IN ('running', 'disconnected') \
             AND created_at <= ?{not_listed}"
        );
        let mut params = vec![
            Value::Integer(at),
            Value::Integer(self.now),
            db::t(self.vps_id),
            Value::Integer(at.saturating_sub(GATEWAY_GRACE_MS)),
        ];
        params.extend(active.iter().map(|s| db::t(&s.session_id)));
        db::run(self.conn, &sql, &params)?;
        Ok(())
    }

    /// Runs `UPDATE gateways …` binding `?1` to the event time, `?2` to now, `?3` to the
    /// gateway id, and `extra` from `?4` on.
    fn update_gateway(&self, sql: &str, at: i64, extra: &[Value]) -> Result<(), ApiError> {
        let mut params = vec![
            Value::Integer(at),
            Value::Integer(self.now),
            db::t(self.gateway_id),
        ];
        params.extend(extra.iter().cloned());
        db::run(self.conn, sql, &params)?;
        Ok(())
    }

    /// Updates one of this gateway's sessions: `UPDATE sessions SET <set>, updated_at = ?1
    /// WHERE <only_if>`, with `values` bound from `?2`.
    fn session(
        &self,
        set: &str,
        only_if: &str,
        session_id: &str,
        values: &[Value],
    ) -> Result<(), ApiError> {
        let next = values.len() + 2;
        let sql = format!(
            "UPDATE sessions SET {set}, updated_at = ?1 WHERE id = ?{next} AND vps_id = ?{} \
             AND {only_if}",
            next + 1
        );
        let mut params = vec![Value::Integer(self.now)];
        params.extend(values.iter().cloned());
        params.extend([db::t(session_id), db::t(self.vps_id)]);
        db::run(self.conn, &sql, &params)?;
        Ok(())
    }
}

/// A hub started with no socket: no gateway is connected through it, so every gateway
/// recorded as connected is now disconnected (one hub serves the app); those that come back
/// are recorded connected again, and the sweep disconnects the others' sessions after the
/// grace. How many changed.
pub fn hub_started(conn: &Connection, now: i64) -> Result<i64, ApiError> {
    db::run(
        conn,
        "UPDATE gateways SET connected = 0, disconnected_at = ?1, updated_at = ?1 \
         WHERE connected = 1",
        &[Value::Integer(now)],
    )?;
    db::changes(conn)
}

/// What a sweep changed.
pub struct Swept {
    /// VPSes that never said hello in time.
    pub provisioning_timeout: i64,
    /// Live sessions of gateways gone for longer than the grace.
    pub sessions_disconnected: i64,
}

/// The periodic sweep as of `now`, in the caller's transaction: a VPS still provisioning ten
/// minutes after creation without a `gateway.hello` becomes `provisioning_timeout`; live
/// sessions of a gateway offline for longer than its grace become `disconnected`.
pub fn sweep(conn: &Connection, now: i64) -> Result<Swept, ApiError> {
    db::run(
        conn,
        "UPDATE vps SET status = 'provisioning_timeout', updated_at = ? \
         WHERE status = 'provisioning' AND created_at <= ? \
         AND id IN (SELECT vps_id FROM gateways WHERE version IS NULL)",
        &[
            Value::Integer(now),
            Value::Integer(now.saturating_sub(PROVISIONING_TIMEOUT_MS)),
        ],
    )?;
    let provisioning_timeout = db::changes(conn)?;
    db::run(
        conn,
        "UPDATE sessions SET status = 'disconnected', updated_at = ? \
         WHERE status IN ('starting', 'running') AND vps_id IN (SELECT vps_id FROM gateways \
         WHERE connected = 0 AND disconnected_at IS NOT NULL AND disconnected_at <= ?)",
        &[
            Value::Integer(now),
            Value::Integer(now.saturating_sub(GATEWAY_GRACE_MS)),
        ],
    )?;
    Ok(Swept {
        provisioning_timeout,
        sessions_disconnected: db::changes(conn)?,
    })
}
