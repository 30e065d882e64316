//! `POST /api/auth/logout` and `POST /api/auth/logout-all`.

use chatcode_kit::{Reply, respond, sessions};
use spin_sdk::http::Request;

/// Ends this browser's session (if any) and clears the cookie: 204.
pub fn one(req: &Request) -> Reply {
    if let Some(current) = sessions::current(req)? {
        sessions::end(&current.session_hash)?;
    }
    Ok(respond::no_content(Some(sessions::clear_cookie())))
}

/// Ends every session of the signed-in user: 204, or 401 when signed out.
pub fn all(req: &Request) -> Reply {
    let current = sessions::require(req)?;
    sessions::end_all(&current.user_id)?;
    Ok(respond::no_content(Some(sessions::clear_cookie())))
}
