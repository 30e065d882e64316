//! `POST /internal/billing/sweep {now?}` (the hub, every 30 s): powers off the VPSes of users
//! whose budget guard has a power-off grace and whose balance has been zero for longer than
//! it, once per stretch at zero. A user whose machines cannot all be powered off (DigitalOcean
//! down, say) is tried again on the next sweep.
//!
//! `now` (unix ms) lets the caller sweep as of a given instant; it defaults to the clock.

use chatcode_core::{
    ApiError, ErrorKind,
    billing::budget::{BudgetSettings, ZeroBalance},
    time::now_ms,
    vps::{PowerAction, VpsStatus},
};
use chatcode_kit::{Reply, db, droplets::DoClient, internal, respond};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::{
    http::Request,
    sqlite::{Connection, Value},
};

/// Largest accepted body.
const MAX_BODY: usize = 1024;

const SQL_CANDIDATES: &str = "SELECT user_id, power_off_grace_minutes, zero_balance_since, \
    budget_powered_off_at FROM billing_accounts WHERE budget_guard = 1 \
    AND power_off_grace_minutes IS NOT NULL AND zero_balance_since IS NOT NULL";
const SQL_RUNNING: &str = "SELECT id, droplet_id, status FROM vps WHERE user_id = ? \
    AND status IN ('active', 'powering_on') ORDER BY created_at";
const SQL_SET_STATUS: &str = "UPDATE vps SET status = ?, updated_at = ? WHERE id = ?";
const SQL_HANDLED: &str = "UPDATE billing_accounts SET budget_powered_off_at = ?, updated_at = ? \
    WHERE user_id = ? AND zero_balance_since IS NOT NULL";

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Body {
    now: Option<i64>,
}

/// 200 `{users, powered_off, failed}`: users whose grace ran out, VPSes powered off, and
/// VPSes that could not be (retried next time).
pub async fn handle(req: Request) -> Reply {
    internal::require_hub(&req)?;
    let body: Body = if req.body().is_empty() {
        Body::default()
    } else {
        respond::parse_body(req.body(), MAX_BODY)?
    };
    let now = body.now.unwrap_or_else(now_ms);
    let conn = db::open()?;
    let rows = db::run(&conn, SQL_CANDIDATES, &[])?;
    let due: Vec<String> = (0..rows.rows.len())
        .filter_map(|row| {
            let state = ZeroBalance {
                settings: BudgetSettings {
                    budget_guard: true,
                    power_off_grace_minutes: db::integer(&rows, row, 1),
                },
                zero_since: db::integer(&rows, row, 2),
                powered_off_at: db::integer(&rows, row, 3),
            };
            state
                .power_off_due(now)
                .then(|| db::text(&rows, row, 0))
                .flatten()
        })
        .collect();
    let (mut powered_off, mut failed) = (0, 0);
    for user_id in &due {
        match power_off_all(&conn, user_id, now).await {
            Ok(count) => {
                powered_off += count;
                db::run(
                    &conn,
                    SQL_HANDLED,
                    &[Value::Integer(now), Value::Integer(now), db::t(user_id)],
                )?;
            }
            Err((count, e)) => {
                powered_off += count;
                failed += 1;
                eprintln!("budget guard: powering off the VPSes of {user_id} failed: {e}");
            }
        }
    }
    respond::json(
        200,
        &json!({ "users": due.len(), "powered_off": powered_off, "failed": failed }),
    )
}

/// Powers off each running VPS of `user_id`; how many, or how many before the failure.
async fn power_off_all(
    conn: &Connection,
    user_id: &str,
    now: i64,
) -> Result<usize, (usize, ApiError)> {
    let rows = db::run(conn, SQL_RUNNING, &[db::t(user_id)]).map_err(|e| (0, e))?;
    if rows.rows.is_empty() {
        return Ok(0);
    }
    let mut client = match DoClient::for_user(conn, user_id) {
        Ok(client) => client,
        Err(e) if e.kind == ErrorKind::DoNotConnected => {
            // Nothing can power them off until DigitalOcean is connected again; asking on
            // every sweep would only repeat this.
            eprintln!("budget guard: {user_id} has VPSes but no DigitalOcean connection");
            return Ok(0);
        }
        Err(e) => return Err((0, e)),
    };
    let mut done = 0;
    for row in 0..rows.rows.len() {
        let (Some(vps_id), Some(droplet)) = (
            db::text(&rows, row, 0),
            db::integer(&rows, row, 1).and_then(|d| u64::try_from(d).ok()),
        ) else {
            continue;
        };
        let action = PowerAction::Off;
        let outcome = client
            .droplet_action(droplet, action.do_type())
            .await
            .map_err(|e| (done, ApiError::from(e)))?;
        let status: VpsStatus = match outcome.status.as_str() {
            "completed" => action.done(),
            "errored" => {
                return Err((
                    done,
                    ApiError::new(
                        ErrorKind::BadGateway,
                        "DigitalOcean: the power action failed",
                    ),
                ));
            }
            _ => action.pending(),
        };
        db::run(
            conn,
            SQL_SET_STATUS,
            &[db::t(status.as_str()), Value::Integer(now), db::t(&vps_id)],
        )
        .map_err(|e| (done, e))?;
        done += 1;
    }
    Ok(done)
}
