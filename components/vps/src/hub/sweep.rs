//! `POST /internal/sweep {now?}`: the hub's periodic clean-up. A VPS still provisioning
//! ten minutes after creation without a `gateway.hello` becomes `provisioning_timeout`;
//! live sessions of a gateway offline for longer than its grace become `disconnected`.
//!
//! `now` (unix ms) lets the caller sweep as of a given instant; it defaults to the clock.

use chatcode_core::{time::now_ms, vps::PROVISIONING_TIMEOUT_MS};
use chatcode_kit::{Reply, db, internal, respond};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::{http::Request, sqlite::Value};

/// How long a gateway may be gone before its sessions count as disconnected: longer than
/// its reconnect back-off (30 s) with room for a restart.
pub const GATEWAY_GRACE_MS: i64 = 90_000;

/// Largest accepted body.
const MAX_BODY: usize = 1024;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Body {
    now: Option<i64>,
}

/// Runs both sweeps in one transaction and reports how many rows each changed.
pub fn handle(req: &Request) -> Reply {
    internal::require_hub(req)?;
    let body: Body = if req.body().is_empty() {
        Body::default()
    } else {
        respond::parse_body(req.body(), MAX_BODY)?
    };
    let now = body.now.unwrap_or_else(now_ms);
    let conn = db::open()?;
    let (timed_out, disconnected) = db::transaction(&conn, |conn| {
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
        let timed_out = db::changes(conn)?;
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
        Ok((timed_out, db::changes(conn)?))
    })?;
    respond::json(
        200,
        &json!({ "provisioning_timeout": timed_out, "sessions_disconnected": disconnected }),
    )
}
