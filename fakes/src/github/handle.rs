//! What tests use to look inside a running GitHub fake and to make it misbehave.

use std::time::Duration;

use super::{
    GithubEndpoint, GithubUser,
    state::{Authorization, GhState},
};
use crate::common::traffic::Traffic;

/// A cheap-clone handle on a GitHub fake's state.
#[derive(Debug, Clone)]
pub struct GithubHandle {
    state: GhState,
}

impl GithubHandle {
    pub(crate) fn new(state: GhState) -> Self {
        Self { state }
    }

    /// The requests it received and the faults queued for it.
    pub fn traffic(&self) -> &Traffic<GithubEndpoint> {
        &self.state.0.traffic
    }

    /// Whether `/login/oauth/authorize` refuses (`error=access_denied`).
    pub fn set_deny(&self, deny: bool) {
        self.state.lock().deny = deny;
    }

    /// Which user approves the next authorizations (by login). False if unknown.
    pub fn sign_in_as(&self, login: &str) -> bool {
        let mut inner = self.state.lock();
        match inner.users.iter().position(|u| u.login == login) {
            Some(index) => {
                inner.signed_in = index;
                true
            }
            None => false,
        }
    }

    /// Adds (or replaces, by login) a user who can sign in.
    pub fn add_user(&self, user: GithubUser) {
        let mut inner = self.state.lock();
        match inner.users.iter_mut().find(|u| u.login == user.login) {
            Some(existing) => *existing = user,
            None => inner.users.push(user),
        }
    }

    /// The authorization that issued `code`, with what `/authorize` received.
    pub fn authorization(&self, code: &str) -> Option<Authorization> {
        self.state
            .lock()
            .authorizations
            .get(&code.to_owned())
            .cloned()
    }

    /// The most recent authorization.
    pub fn last_authorization(&self) -> Option<Authorization> {
        self.state.lock().authorizations.values().last().cloned()
    }

    /// Issues a token for a user (by login) without the OAuth dance.
    pub fn issue_token(&self, login: &str, scopes: &[&str]) -> Option<String> {
        let mut inner = self.state.lock();
        let user = inner.users.iter().position(|u| u.login == login)?;
        Some(inner.issue(user, scopes.iter().map(|s| (*s).to_owned()).collect()))
    }

    /// Revokes a token (the API then answers 401). False if unknown.
    pub fn revoke_token(&self, token: &str) -> bool {
        self.state.lock().tokens.remove(&token.to_owned()).is_some()
    }

    /// Whether the API accepts a token.
    pub fn token_is_valid(&self, token: &str) -> bool {
        self.state.lock().tokens.get(&token.to_owned()).is_some()
    }

    /// Moves the fake's clock forward: codes expire after 10 minutes,
    /// rate-limit windows reset after an hour.
    pub fn advance_clock(&self, by: Duration) {
        self.state.0.clock.advance(by);
    }
}
