//! `POST /internal/gateways/auth {gateway_id, token}`: whether a dialling gateway holds its
//! token. 200 `{vps_id, user_id}` or 401.

use chatcode_core::{ApiError, token::verify_token};
use chatcode_kit::{Reply, config, db, internal, respond};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Request;

/// Largest accepted body.
const MAX_BODY: usize = 4 * 1024;

/// Compared against when the gateway id is unknown, so both cases cost one HMAC.
const NO_SUCH_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Deserialize)]
struct Body {
    gateway_id: String,
    token: String,
}

/// Checks the token against the stored HMAC in constant time.
pub fn handle(req: &Request) -> Reply {
    internal::require_hub(req)?;
    let body: Body = respond::parse_body(req.body(), MAX_BODY)?;
    let salt = config::required("gateway_token_salt")?;
    let conn = db::open()?;
    let row = db::run(
        &conn,
        "SELECT g.auth_token_hash, v.id, v.user_id FROM gateways g \
         JOIN vps v ON v.id = g.vps_id WHERE g.id = ?",
        &[db::t(&body.gateway_id)],
    )?;
    let stored = db::text(&row, 0, 0);
    let matches = verify_token(
        &body.token,
        &salt,
        stored.as_deref().unwrap_or(NO_SUCH_HASH),
    );
    match (
        matches && stored.is_some(),
        db::text(&row, 0, 1),
        db::text(&row, 0, 2),
    ) {
        (true, Some(vps_id), Some(user_id)) => {
            respond::json(200, &json!({ "vps_id": vps_id, "user_id": user_id }))
        }
        _ => Err(ApiError::unauthorized()),
    }
}
