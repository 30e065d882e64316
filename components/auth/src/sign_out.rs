//! `POST /api/auth/logout` and `POST /api/auth/logout-all`.

use chatcode_kit::{Reply, caller, login, respond};
use spin_sdk::http::Request;

/// Ends this browser's login (if any) and clears the cookie: 204.
pub fn one(req: &Request) -> Reply {
    if let Some(current) = login::from_cookie(req)? {
        login::end(&current.hash)?;
    }
    Ok(respond::no_content(Some(login::clear_cookie())))
}

/// Ends every login of the calling user: 204, or 401 when signed out.
pub fn all(req: &Request) -> Reply {
    let current = caller::require(req)?;
    login::end_all(&current.user_id)?;
    Ok(respond::no_content(Some(login::clear_cookie())))
}
