//! `POST /auth/dev/login {"username"}`: sign in as anyone, in development only.

use chatcode_core::{ApiError, accounts::validate_username};
use chatcode_kit::{Reply, config, db, login, respond};
use serde::Deserialize;
use spin_sdk::http::Request;

/// Largest accepted body.
const MAX_BODY: usize = 4 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    username: String,
}

/// Creates or finds the user and sets a real session cookie.
pub fn handle(req: &Request) -> Reply {
    if !config::is_development() {
        return Err(ApiError::not_found("no such route"));
    }
    let body: Body = respond::parse_body(req.body(), MAX_BODY)?;
    let username = body.username.trim();
    validate_username(username)
        .map_err(|why| ApiError::unprocessable(format!("username {why}")))?;
    let conn = db::open()?;
    let user_id = crate::users::find_or_create_by_username(&conn, username)?;
    let cookie = login::start(&user_id, req)?;
    let profile = crate::users::profile(&conn, &user_id)?.ok_or_else(ApiError::internal)?;
    respond::json_setting(200, &profile, Some(cookie))
}
