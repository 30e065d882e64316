//! The GitHub fake's shared state: codes, tokens and rate-limit buckets,
//! behind one std mutex never held across `.await`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{GithubConfig, GithubEndpoint, GithubUser};
use crate::common::{bounded::BoundedMap, clock::Clock, random, traffic::Traffic};

/// Codes expire after 10 minutes.
pub(crate) const CODE_LIFETIME_SECS: u64 = 600;
/// Rate-limit window: the hourly limit.
pub(crate) const WINDOW_SECS: u64 = 3600;
const MAX_CODES: usize = 1000;
const MAX_TOKENS: usize = 10_000;

/// What `/login/oauth/authorize` saw, as tests read it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The code handed to the callback.
    pub code: String,
    /// Login of the user who approved.
    pub login: String,
    /// `redirect_uri` as sent (None when omitted).
    pub redirect_uri: Option<String>,
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// `state` as sent.
    pub state: Option<String>,
    /// `code_challenge` (S256) as sent.
    pub code_challenge: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub user: usize,
    pub redirect_uri: Option<String>,
    pub scopes: Vec<String>,
    pub expires_at: u64,
    pub challenge: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub user: usize,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    pub window_start: u64,
    pub used: u32,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub deny: bool,
    pub signed_in: usize,
    pub users: Vec<GithubUser>,
    pub codes: BoundedMap<String, Code>,
    pub tokens: BoundedMap<String, Token>,
    pub buckets: BoundedMap<String, Bucket>,
    pub authorizations: BoundedMap<String, Authorization>,
}

impl Inner {
    /// Issues a `gho_` token for a user.
    pub(crate) fn issue(&mut self, user: usize, scopes: Vec<String>) -> String {
        let token = format!("gho_{}", random::alphanumeric(36));
        self.tokens.insert(token.clone(), Token { user, scopes });
        token
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub config: GithubConfig,
    pub base_url: String,
    pub clock: Clock,
    pub traffic: Traffic<GithubEndpoint>,
    inner: Mutex<Inner>,
}

/// Cheap-clone handle on the shared state (axum state and the test handle).
#[derive(Debug, Clone)]
pub(crate) struct GhState(pub Arc<Shared>);

impl GhState {
    pub(crate) fn new(mut config: GithubConfig, base_url: String) -> Self {
        if config.users.is_empty() {
            config.users = GithubConfig::default().users;
        }
        let inner = Inner {
            deny: config.deny_authorization,
            signed_in: 0,
            users: config.users.clone(),
            codes: BoundedMap::new(MAX_CODES),
            tokens: BoundedMap::new(MAX_TOKENS),
            buckets: BoundedMap::new(MAX_TOKENS),
            authorizations: BoundedMap::new(MAX_CODES),
        };
        Self(Arc::new(Shared {
            traffic: Traffic::new(config.journal_capacity),
            config,
            base_url,
            clock: Clock::default(),
            inner: Mutex::new(inner),
        }))
    }

    pub(crate) fn config(&self) -> &GithubConfig {
        &self.0.config
    }

    /// Locks the state; a poisoned lock is still usable (tests may panic).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn now_secs(&self) -> u64 {
        self.0.clock.now_secs()
    }
}
