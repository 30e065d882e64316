//! `POST /vps/:id/sessions/:sid/attach {mode?}`: a short-lived signed ticket and the URL of
//! the hub's terminal socket for it. The hub verifies the ticket without a database; the
//! ticket names the sign-in it was issued in, so signing out closes only its terminals.

use chatcode_core::{
    ApiError,
    ticket::{self, AttachTicket, Holder, MAX_TICKET_LIFETIME_MS, Mode},
    time::now_ms,
};
use chatcode_kit::{Reply, config, respond};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Request;

use crate::manage::owned_session;

/// Largest accepted body.
const MAX_BODY: usize = 1024;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Body {
    mode: Option<Mode>,
}

/// 200 `{url, ticket, expires_at}`.
pub fn handle(req: &Request, vps_id: &str, session_id: &str) -> Reply {
    // Ownership first: a foreign id answers 404 before anything else is said about it.
    let (user, vps, session, _conn) = owned_session(req, vps_id, session_id)?;
    let body: Body = if req.body().is_empty() {
        Body::default()
    } else {
        respond::parse_body(req.body(), MAX_BODY)?
    };
    if session.status == "ended" {
        return Err(ApiError::conflict("the session has ended"));
    }
    let secret = config::required("hub_secret")?;
    let ticket = AttachTicket::new(
        Holder::new(user.user_id.clone(), user.login_ref()),
        vps.gateway_id,
        vps.id.clone(),
        session.id.clone(),
        body.mode.unwrap_or(Mode::ReadWrite),
        now_ms(),
        MAX_TICKET_LIFETIME_MS,
    );
    let signed = ticket::sign(&ticket, &secret);
    let hub = config::optional("hub_public_url");
    let url = ticket::terminal_url(hub.as_deref(), &vps.id, &session.id, &signed);
    respond::json(
        200,
        &json!({ "url": url, "ticket": signed, "expires_at": ticket.expires_at_ms }),
    )
}
