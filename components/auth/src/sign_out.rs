//! `POST /api/auth/logout` and `POST /api/auth/logout-all`. The hub is told, so the terminals
//! opened in the sign-ins that end are closed (`signed_out`); signing out works without it.

use chatcode_core::{revocation::Revocation, session::login_ref};
use chatcode_kit::{Reply, hub, respond, sessions};
use spin_sdk::http::Request;

/// Ends this browser's session (if any), closes its terminals and clears the cookie: 204.
pub async fn one(req: &Request) -> Reply {
    if let Some(current) = sessions::current(req)? {
        sessions::end(&current.session_hash)?;
        hub::revoke(&Revocation::Logins {
            user_id: current.user_id,
            logins: vec![login_ref(&current.session_hash)],
        })
        .await;
    }
    Ok(respond::no_content(Some(sessions::clear_cookie())))
}

/// Ends every session of the signed-in user and closes their terminals: 204, or 401 when
/// signed out.
pub async fn all(req: &Request) -> Reply {
    let current = sessions::require(req)?;
    let ended = sessions::end_all(&current.user_id)?;
    hub::revoke(&Revocation::Logins {
        user_id: current.user_id,
        logins: ended.iter().map(|hash| login_ref(hash)).collect(),
    })
    .await;
    Ok(respond::no_content(Some(sessions::clear_cookie())))
}
