//! `GET /api/me`: the signed-in user.

use chatcode_core::ApiError;
use chatcode_kit::{
    Reply,
    caller::{self, Credential},
    db, login, respond,
};
use spin_sdk::http::Request;

/// 200 with the profile; 401 without a live login or API key.
pub fn handle(req: &Request) -> Reply {
    let current = caller::require(req)?;
    let conn = db::open()?;
    match crate::users::profile(&conn, &current.user_id)? {
        Some(profile) => respond::json(200, &profile),
        None => {
            // The user is gone: the login must not outlive it.
            if let Credential::Login(hash) = &current.credential {
                login::end(hash)?;
            }
            Err(ApiError::unauthorized())
        }
    }
}
