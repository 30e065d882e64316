//! `POST /internal/gateways/:id/events`: records one gateway's batch of events, in order, in
//! one transaction. Connection changes and `gateway.hello`/`gateway.health` update the
//! gateway (a hello also activates its VPS); `session.started|ended|error` and health's
//! active sessions update the gateway's sessions, and a session older than the grace that a
//! health report no longer lists has ended. Other events are counted as ignored.

use chatcode_core::{
    ApiError,
    hub_events::{EventBatch, HubEvent, MAX_BATCH_BYTES, MAX_BATCH_EVENTS},
    protocol::{ActiveSession, Event, GatewayHealth, GatewayHello, Incoming, parse_event},
    time::{now_ms, parse_rfc3339_ms},
    vps::VpsStatus,
};
use chatcode_kit::{Reply, db, internal, respond};

use super::sweep::GATEWAY_GRACE_MS;

/// Sessions of one health report taken into account, at most (SQLite binds ≤ 32766).
const MAX_REPORTED_SESSIONS: usize = 1000;
use serde_json::json;
use spin_sdk::{
    http::Request,
    sqlite::{Connection, Value},
};

/// Applies the batch; 200 `{applied, ignored}`, 404 for an unknown gateway.
pub fn handle(req: &Request, gateway_id: &str) -> Reply {
    internal::require_hub(req)?;
    let batch: EventBatch = respond::parse_body(req.body(), MAX_BATCH_BYTES)?;
    if batch.events.len() > MAX_BATCH_EVENTS {
        return Err(ApiError::unprocessable(format!(
            "a batch holds at most {MAX_BATCH_EVENTS} events"
        )));
    }
    let conn = db::open()?;
    let (applied, ignored) = db::transaction(&conn, |conn| {
        let vps_id = db::text(
            &db::run(
                conn,
                "SELECT vps_id FROM gateways WHERE id = ?",
                &[db::t(gateway_id)],
            )?,
            0,
            0,
        )
        .ok_or_else(|| ApiError::not_found("no such gateway"))?;
        let target = Target {
            conn,
            gateway_id,
            vps_id: &vps_id,
            now: now_ms(),
        };
        let mut applied = 0;
        for event in &batch.events {
            if target.apply(event)? {
                applied += 1;
            }
        }
        Ok((applied, batch.events.len() - applied))
    })?;
    respond::json(200, &json!({ "applied": applied, "ignored": ignored }))
}

/// The gateway a batch is about, inside its transaction.
struct Target<'a> {
    conn: &'a Connection,
    gateway_id: &'a str,
    vps_id: &'a str,
    now: i64,
}

impl Target<'_> {
    /// Records one entry; `false` when it is one the app does not record.
    fn apply(&self, entry: &HubEvent) -> Result<bool, ApiError> {
        match entry {
            HubEvent::Connected { at } => self.connected(*at, true)?,
            HubEvent::Disconnected { at } => self.connected(*at, false)?,
            HubEvent::Gateway { at, event } => {
                let event = match parse_event(&event.to_string()) {
                    Ok(Incoming::Event(event)) => event,
                    Ok(Incoming::Unknown { type_name }) => {
                        eprintln!("gateway {}: ignoring event {type_name:?}", self.gateway_id);
                        return Ok(false);
                    }
                    Err(e) => {
                        eprintln!("gateway {}: ignoring invalid event: {e}", self.gateway_id);
                        return Ok(false);
                    }
                };
                return self.gateway_event(*at, &event);
            }
        }
        Ok(true)
    }

    fn gateway_event(&self, at: i64, event: &Event) -> Result<bool, ApiError> {
        match event {
            Event::GatewayHello(hello) => return self.hello(at, hello),
            Event::GatewayHealth(health) => self.health(at, health)?,
            Event::SessionStarted(started) => self.session(
                "status = 'running', last_activity_at = ?2",
                "status IN ('starting', 'running', 'disconnected')",
                &started.session_id,
                &[Value::Integer(at)],
            )?,
            Event::SessionEnded(ended) => self.session(
                "status = 'ended', ended_at = ?2, exit_code = ?3",
                "status <> 'ended'",
                &ended.session_id,
                &[
                    Value::Integer(at),
                    ended
                        .exit_code
                        .map_or(Value::Null, |c| Value::Integer(c.into())),
                ],
            )?,
            Event::SessionError(failed) => self.session(
                "status = 'error', error = ?2",
                "status <> 'ended'",
                &failed.session_id,
                &[db::t(&failed.error)],
            )?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn connected(&self, at: i64, connected: bool) -> Result<(), ApiError> {
        let sql = if connected {
            "UPDATE gateways SET connected = 1, disconnected_at = NULL, \
             last_seen_at = MAX(COALESCE(last_seen_at, 0), ?1), updated_at = ?2 WHERE id = ?3"
        } else {
            "UPDATE gateways SET connected = 0, disconnected_at = ?1, updated_at = ?2 \
             WHERE id = ?3"
        };
        self.update_gateway(sql, at, &[])
    }

    /// A hello from another gateway id is not this gateway's to record.
    fn hello(&self, at: i64, hello: &GatewayHello) -> Result<bool, ApiError> {
        if hello.gateway_id != self.gateway_id {
            eprintln!(
                "gateway {}: ignoring hello naming {:?}",
                self.gateway_id, hello.gateway_id
            );
            return Ok(false);
        }
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
        Ok(true)
    }

    fn health(&self, at: i64, health: &GatewayHealth) -> Result<(), ApiError> {
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
