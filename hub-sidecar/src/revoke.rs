//! `POST /internal/revoke` (bearer `hub_secret`): the app says access ended: sign-ins (a
//! logout), a deleted VPS, an ended session. The affected sockets close with a named close
//! code, and tickets for what was revoked are refused for as long as a ticket lives. With
//! several hubs, every hub applies it.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use chatcode_core::{
    revocation::{MAX_REVOCATION_BYTES, Revocation},
    ticket::{AttachTicket, MAX_TICKET_LIFETIME_MS},
    token::bearer_matches,
};
use serde_json::json;

use crate::{cluster::wire::Header, errors::HubError, hub::Hub, outbox::close};

/// How long a revocation refuses tickets: longer than any ticket lives.
const REMEMBER: Duration = Duration::from_millis(MAX_TICKET_LIFETIME_MS as u64 + 5_000);
/// Revocations remembered at most; past it a new one still closes sockets but is not kept.
const MAX_REMEMBERED: usize = 100_000;

/// What a revocation names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Login(String),
    Vps(String),
    Session {
        gateway_id: String,
        session_id: String,
    },
}

/// Recent revocations, each until no ticket issued before it can still be live.
#[derive(Default)]
pub struct Revoked {
    until: HashMap<Key, Instant>,
}

impl Revoked {
    fn remember(&mut self, key: Key, now: Instant) {
        if self.until.len() >= MAX_REMEMBERED {
            self.expire(now);
        }
        if self.until.len() < MAX_REMEMBERED || self.until.contains_key(&key) {
            self.until.insert(key, now + REMEMBER);
        } else {
            tracing::warn!("too many recent revocations to remember one more");
        }
    }

    /// Whether `ticket` names something revoked.
    pub fn refuses(&self, ticket: &AttachTicket, now: Instant) -> bool {
        let live = |key: Key| self.until.get(&key).is_some_and(|until| *until > now);
        live(Key::Login(ticket.login.clone()))
            || live(Key::Vps(ticket.vps_id.clone()))
            || live(Key::Session {
                gateway_id: ticket.gateway_id.clone(),
                session_id: ticket.session_id.clone(),
            })
    }

    /// Forgets revocations no ticket can outlive any more.
    pub fn expire(&mut self, now: Instant) {
        self.until.retain(|_, until| *until > now);
    }
}

/// Applies the revocation in the body: 200 `{closed}` (sockets closed).
pub async fn revoke(State(hub): State<Arc<Hub>>, headers: HeaderMap, body: Bytes) -> Response {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    if !bearer_matches(authorization, &hub.config.hub_secret) {
        return HubError::Unauthorized("missing or invalid credentials".into()).into_response();
    }
    if body.len() > MAX_REVOCATION_BYTES {
        return HubError::PayloadTooLarge.into_response();
    }
    match serde_json::from_slice::<Revocation>(&body) {
        Ok(revocation) => {
            let closed = apply(&hub, &revocation);
            if let Some(cluster) = &hub.cluster {
                // Every other hub applies it too (their browsers, their gateways).
                let header = Header::Revoke {
                    from: cluster.id.clone(),
                };
                if let Err(e) = cluster.broadcast(&header, &body).await {
                    tracing::error!("cannot tell the other hubs of a revocation: {e}");
                    return HubError::Unavailable("the hub cannot reach redis").into_response();
                }
            }
            Json(json!({ "closed": closed })).into_response()
        }
        Err(e) => HubError::BadRequest(format!("invalid revocation: {e}")).into_response(),
    }
}

/// Closes what `revocation` names and remembers it; how many sockets were closed.
pub fn apply(hub: &Hub, revocation: &Revocation) -> usize {
    let now = Instant::now();
    let closed = match revocation {
        Revocation::Logins { user_id, logins } => {
            let logins: HashSet<&str> = logins.iter().map(String::as_str).collect();
            hub.with_revoked(|revoked| {
                for login in &logins {
                    revoked.remember(Key::Login((*login).to_owned()), now);
                }
            });
            hub.all()
                .iter()
                .map(|gateway| {
                    gateway.close_browsers(
                        |t| t.user_id == *user_id && logins.contains(t.login.as_str()),
                        close::SIGNED_OUT,
                        "signed out",
                    )
                })
                .sum()
        }
        Revocation::Vps { vps_id, gateway_id } => {
            hub.with_revoked(|revoked| revoked.remember(Key::Vps(vps_id.clone()), now));
            hub.app.forget(gateway_id);
            let reason = "the VPS was deleted";
            hub.existing(gateway_id).map_or(0, |gateway| {
                gateway.close_browsers(|_| true, close::VPS_DELETED, reason)
                    + usize::from(gateway.close_link(close::VPS_DELETED, reason))
            })
        }
        Revocation::Session {
            gateway_id,
            session_id,
        } => {
            let key = Key::Session {
                gateway_id: gateway_id.clone(),
                session_id: session_id.clone(),
            };
            hub.with_revoked(|revoked| revoked.remember(key, now));
            hub.existing(gateway_id).map_or(0, |gateway| {
                gateway.session_ended(session_id);
                gateway.close_browsers(
                    |t| t.session_id == *session_id,
                    close::SESSION_ENDED,
                    "the session has ended",
                )
            })
        }
    };
    tracing::info!(?revocation, closed, "revoked");
    closed
}

#[cfg(test)]
mod tests {
    use chatcode_core::ticket::{Holder, Mode};

    use super::*;

    fn ticket(login: &str, vps: &str, session: &str) -> AttachTicket {
        AttachTicket::new(
            Holder::new("usr-1", login),
            "gw-1",
            vps,
            session,
            Mode::ReadWrite,
            0,
            60_000,
        )
    }

    #[test]
    fn refuses_what_was_revoked_until_no_ticket_can_outlive_it() {
        let now = Instant::now();
        let mut revoked = Revoked::default();
        revoked.remember(Key::Login("l1".into()), now);
        revoked.remember(Key::Vps("vps-2".into()), now);
        revoked.remember(
            Key::Session {
                gateway_id: "gw-1".into(),
                session_id: "ses-3".into(),
            },
            now,
        );
        assert!(revoked.refuses(&ticket("l1", "vps-1", "ses-1"), now));
        assert!(revoked.refuses(&ticket("l2", "vps-2", "ses-1"), now));
        assert!(revoked.refuses(&ticket("l2", "vps-1", "ses-3"), now));
        assert!(!revoked.refuses(&ticket("l2", "vps-1", "ses-1"), now));
        let later = now + REMEMBER;
        assert!(!revoked.refuses(&ticket("l1", "vps-2", "ses-3"), later));
        revoked.expire(later);
        assert!(revoked.until.is_empty());
    }
}
