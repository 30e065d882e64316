//! `POST /internal/sweep {now?}`: the hub's periodic clean-up (`chatcode_kit::status::sweep`):
//! a VPS still provisioning ten minutes after creation without a `gateway.hello` becomes
//! `provisioning_timeout`; live sessions of a gateway offline for longer than its grace become
//! `disconnected`.
//!
//! `now` (unix ms) lets the caller sweep as of a given instant; it defaults to the clock.
//! `hub_started: true` is the hub's first call after it starts: every gateway recorded as
//! connected is disconnected first (`chatcode_kit::status::hub_started`).

use chatcode_core::time::now_ms;
use chatcode_kit::{Reply, db, internal, respond, status};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Request;

/// Largest accepted body.
const MAX_BODY: usize = 1024;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Body {
    now: Option<i64>,
    #[serde(default)]
    hub_started: bool,
}

/// Runs the sweeps in one transaction and reports how many rows each changed.
pub fn handle(req: &Request) -> Reply {
    internal::require_hub(req)?;
    let body: Body = if req.body().is_empty() {
        Body::default()
    } else {
        respond::parse_body(req.body(), MAX_BODY)?
    };
    let now = body.now.unwrap_or_else(now_ms);
    let conn = db::open()?;
    let (gone, swept) = db::transaction(&conn, |conn| {
        let gone = if body.hub_started {
            status::hub_started(conn, now)?
        } else {
            0
        };
        Ok((gone, status::sweep(conn, now)?))
    })?;
    respond::json(
        200,
        &json!({
            "gateways_disconnected": gone,
            "provisioning_timeout": swept.provisioning_timeout,
            "sessions_disconnected": swept.sessions_disconnected,
        }),
    )
}
