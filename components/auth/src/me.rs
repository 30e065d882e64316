//! `GET /api/me`: the signed-in user.

use chatcode_core::ApiError;
use chatcode_kit::{Reply, db, respond, sessions};
use spin_sdk::http::Request;

/// 200 with the profile; 401 without a live session.
pub fn handle(req: &Request) -> Reply {
    let current = sessions::require(req)?;
    let conn = db::open()?;
    match crate::users::profile(&conn, &current.user_id)? {
        Some(profile) => respond::json(200, &profile),
        None => {
            // The user is gone: the session must not outlive it.
            sessions::end(&current.session_hash)?;
            Err(ApiError::unauthorized())
        }
    }
}
