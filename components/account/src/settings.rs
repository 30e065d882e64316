//! `GET /api/account` and `PATCH /api/account`: the caller's settings.

use chatcode_core::{ApiError, accounts::AccountUpdate, time::now_ms};
use chatcode_kit::{Reply, caller, db, respond};
use spin_sdk::http::Request;

use crate::store;

/// Largest `PATCH` body.
const MAX_BODY: usize = 4 * 1024;

/// 200 with the settings.
pub fn show(req: &Request) -> Reply {
    let caller = caller::require(req)?;
    let conn = db::open()?;
    let settings = store::settings(&conn, &caller.user_id)?.ok_or_else(ApiError::unauthorized)?;
    respond::json(200, &settings)
}

/// Changes what the body names; 200 with the settings, 409 for a username someone has, 422
/// naming each bad field.
pub fn update(req: &Request) -> Reply {
    let caller = caller::require(req)?;
    let update: AccountUpdate = respond::parse_body(req.body(), MAX_BODY)?;
    update.validate().map_err(ApiError::invalid_fields)?;
    let conn = db::open()?;
    let settings = db::transaction(&conn, |conn| {
        if let Some(username) = &update.username
            && store::username_taken(conn, username, &caller.user_id)?
        {
            return Err(ApiError::conflict("that username is taken"));
        }
        store::update(conn, &caller.user_id, &update, now_ms())?;
        store::settings(conn, &caller.user_id)?.ok_or_else(ApiError::unauthorized)
    })?;
    respond::json(200, &settings)
}
