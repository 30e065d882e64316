//! `POST /api/auth/logout` and `POST /api/auth/logout-all`. The hub is told, so the terminals
//! opened in the sign-ins that end are closed (`signed_out`); signing out works without it.

use chatcode_core::{login::login_ref, revocation::Revocation};
use chatcode_kit::{Reply, caller, hub, login, respond};
use spin_sdk::http::Request;

/// Ends this browser's login (if any), closes its terminals and clears the cookie: 204.
pub async fn one(req: &Request) -> Reply {
    if let Some(current) = login::from_cookie(req)? {
        login::end(&current.hash)?;
        hub::revoke(&Revocation::Logins {
            user_id: current.user_id,
            logins: vec![login_ref(&current.hash)],
        })
        .await;
    }
    Ok(respond::no_content(Some(login::clear_cookie())))
}

/// Ends every login of the calling user and closes their terminals: 204, or 401 when signed
/// out.
pub async fn all(req: &Request) -> Reply {
    let current = caller::require(req)?;
    let ended = login::end_all(&current.user_id)?;
    hub::revoke(&Revocation::Logins {
        user_id: current.user_id,
        logins: ended.iter().map(|hash| login_ref(hash)).collect(),
    })
    .await;
    Ok(respond::no_content(Some(login::clear_cookie())))
}
