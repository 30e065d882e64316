//! What tests use to look inside a running DigitalOcean fake and to make it
//! misbehave.

use std::{net::Ipv4Addr, time::Duration};

use super::{
    DoEndpoint,
    model::{Action, Droplet, DropletStatus},
    state::DoState,
};
use crate::common::traffic::Traffic;

/// A cheap-clone handle on a DigitalOcean fake's state.
#[derive(Debug, Clone)]
pub struct DoHandle {
    state: DoState,
}

/// An access/refresh token pair issued by [`DoHandle::issue_token`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoTokens {
    /// Bearer token for API v2.
    pub access_token: String,
    /// Token for `grant_type=refresh_token`.
    pub refresh_token: String,
}

impl DoHandle {
    pub(crate) fn new(state: DoState) -> Self {
        Self { state }
    }

    /// Every droplet, all accounts, by id.
    pub fn droplets(&self) -> Vec<Droplet> {
        self.state.settled().droplets.values().cloned().collect()
    }

    /// One droplet.
    pub fn droplet(&self, id: u64) -> Option<Droplet> {
        self.state.settled().droplets.get(&id).cloned()
    }

    /// Sets a droplet's status; `Active` gives it a public IPv4 address and
    /// completes its `create` action. False if there is no such droplet.
    pub fn set_status(&self, id: u64, status: DropletStatus) -> bool {
        let now = self.state.now_secs();
        self.state
            .lock()
            .set_status(id, status, self.state.config(), now)
    }

    /// Sets the public IPv4 a droplet reports once active.
    pub fn set_public_ipv4(&self, id: u64, ip: Ipv4Addr) -> bool {
        match self.state.lock().droplets.get_mut(&id) {
            Some(d) => {
                d.public_ipv4 = Some(ip);
                true
            }
            None => false,
        }
    }

    /// One action (create, power, …).
    pub fn action(&self, id: u64) -> Option<Action> {
        self.state.settled().actions.get(&id).cloned()
    }

    /// Every recorded action, oldest first.
    pub fn actions(&self) -> Vec<Action> {
        self.state.settled().actions.values().cloned().collect()
    }

    /// The requests it received and the faults queued for it.
    pub fn traffic(&self) -> &Traffic<DoEndpoint> {
        &self.state.0.traffic
    }

    /// Whether `/authorize` refuses (`error=access_denied`) from now on.
    pub fn set_deny(&self, deny: bool) {
        self.state.lock().deny = deny;
    }

    /// Registers another callback URL (an app on a port chosen after the fake started).
    pub fn set_redirect_uri(&self, uri: &str) {
        uri.clone_into(&mut self.state.lock().redirect_uri);
    }

    /// Which configured account signs in at the next `/authorize` (by UUID).
    /// False if no account has that UUID.
    pub fn sign_in_as(&self, uuid: &str) -> bool {
        match self
            .state
            .config()
            .accounts
            .iter()
            .position(|a| a.uuid == uuid)
        {
            Some(index) => {
                self.state.lock().signed_in = index;
                true
            }
            None => false,
        }
    }

    /// Issues a token pair for an account (by UUID) without the OAuth dance.
    pub fn issue_token(&self, uuid: &str, scope: &str) -> Option<DoTokens> {
        let index = self
            .state
            .config()
            .accounts
            .iter()
            .position(|a| a.uuid == uuid)?;
        let now = self.state.now_secs();
        let issued = self.state.lock().issue(index, scope, now);
        Some(DoTokens {
            access_token: issued.access_token,
            refresh_token: issued.refresh_token,
        })
    }

    /// Makes an access token expired (the API then answers 401). False if unknown.
    pub fn expire_token(&self, access_token: &str) -> bool {
        let now = self.state.now_secs();
        match self.state.lock().tokens.get_mut(&access_token.to_owned()) {
            Some(t) => {
                t.expires_at = Some(now);
                true
            }
            None => false,
        }
    }

    /// Revokes the pair an access or refresh token belongs to. False if unknown.
    pub fn revoke_token(&self, token: &str) -> bool {
        self.state.lock().revoke(token)
    }

    /// Whether an access token is currently accepted by the API.
    pub fn token_is_valid(&self, access_token: &str) -> bool {
        let now = self.state.now_secs();
        self.state
            .config()
            .static_tokens
            .iter()
            .any(|t| t == access_token)
            || self
                .state
                .lock()
                .tokens
                .get(&access_token.to_owned())
                .is_some_and(|t| t.expires_at.is_none_or(|at| at > now))
    }

    /// Whether a refresh token would currently be accepted.
    pub fn refresh_token_is_valid(&self, refresh_token: &str) -> bool {
        self.state
            .lock()
            .refresh
            .get(&refresh_token.to_owned())
            .is_some()
    }

    /// Moves the fake's clock forward: codes (10 min) and tokens (30 days)
    /// expire, rate-limit windows reset, droplets boot (`active_after`).
    pub fn advance_clock(&self, by: Duration) {
        self.state.0.clock.advance(by);
    }
}
