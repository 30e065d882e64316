//! The DigitalOcean fake's shared state: OAuth codes and tokens, rate-limit
//! buckets, droplets and actions, behind one std mutex never held across `.await`.

use std::{
    collections::BTreeMap,
    net::Ipv4Addr,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use super::{
    DoConfig, DoEndpoint,
    model::{Action, Droplet, DropletStatus},
};
use crate::common::{bounded::BoundedMap, clock::Clock, random, traffic::Traffic};

/// Access tokens live 30 days (`expires_in` 2592000).
pub(crate) const TOKEN_LIFETIME_SECS: u64 = 2_592_000;
/// Authorization codes live 10 minutes.
pub(crate) const CODE_LIFETIME_SECS: u64 = 600;
/// Rate-limit window: the hourly limit.
pub(crate) const WINDOW_SECS: u64 = 3600;
/// Bounds on what requests can make the fake store.
const MAX_CODES: usize = 1000;
const MAX_TOKENS: usize = 10_000;
const MAX_ACTIONS: usize = 10_000;

/// A code issued by `/authorize`, waiting to be exchanged.
#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub account: usize,
    pub expires_at: u64,
    pub challenge: Option<(String, String)>,
}

/// An access token and what it grants.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub account: usize,
    pub scope: String,
    /// Unix seconds; `None` never expires (static tokens).
    pub expires_at: Option<u64>,
    pub refresh_token: Option<String>,
}

/// Requests a token made in the current window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    pub window_start: u64,
    pub used: u32,
}

/// A freshly issued access/refresh pair.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub scope: String,
    pub account: usize,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub deny: bool,
    /// The registered callback (`DoConfig::redirect_uri` until a test moves it).
    pub redirect_uri: String,
    pub signed_in: usize,
    pub codes: BoundedMap<String, Code>,
    pub tokens: BoundedMap<String, Token>,
    /// Refresh token to the access token it was issued with.
    pub refresh: BoundedMap<String, String>,
    pub buckets: BoundedMap<String, Bucket>,
    pub droplets: BTreeMap<u64, Droplet>,
    pub actions: BoundedMap<u64, Action>,
    pub next_droplet_id: u64,
    pub next_action_id: u64,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub config: DoConfig,
    pub base_url: String,
    pub clock: Clock,
    pub traffic: Traffic<DoEndpoint>,
    inner: Mutex<Inner>,
}

/// Cheap-clone handle on the shared state (axum state and [`super::DoHandle`]).
#[derive(Debug, Clone)]
pub(crate) struct DoState(pub Arc<Shared>);

impl DoState {
    pub(crate) fn new(mut config: DoConfig, base_url: String) -> Self {
        if config.accounts.is_empty() {
            config.accounts.push(super::DoAccount::default());
        }
        let inner = Inner {
            deny: config.deny_authorization,
            redirect_uri: config.redirect_uri.clone(),
            signed_in: 0,
            codes: BoundedMap::new(MAX_CODES),
            tokens: BoundedMap::new(MAX_TOKENS),
            refresh: BoundedMap::new(MAX_TOKENS),
            buckets: BoundedMap::new(MAX_TOKENS),
            droplets: BTreeMap::new(),
            actions: BoundedMap::new(MAX_ACTIONS),
            next_droplet_id: 3_164_444,
            next_action_id: 7_515,
        };
        Self(Arc::new(Shared {
            traffic: Traffic::new(config.journal_capacity),
            config,
            base_url,
            clock: Clock::default(),
            inner: Mutex::new(inner),
        }))
    }

    pub(crate) fn config(&self) -> &DoConfig {
        &self.0.config
    }

    /// Locks the state; a poisoned lock is still usable (tests may panic).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn now_secs(&self) -> u64 {
        self.0.clock.now_secs()
    }

    /// Brings droplets up to date with the clock (boot delay), then locks.
    pub(crate) fn settled(&self) -> MutexGuard<'_, Inner> {
        let now = self.0.clock.now_ms();
        let mut inner = self.lock();
        if let Some(delay) = self.0.config.active_after {
            let delay = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
            let due: Vec<u64> = inner
                .droplets
                .values()
                .filter(|d| d.status == DropletStatus::New)
                .filter(|d| now >= d.created_at_ms.saturating_add(delay))
                .map(|d| d.id)
                .collect();
            for id in due {
                inner.set_status(id, DropletStatus::Active, &self.0.config, now / 1000);
            }
        }
        inner
    }
}

impl Inner {
    /// Issues an access/refresh pair for `account` with `scope`.
    pub(crate) fn issue(&mut self, account: usize, scope: &str, now: u64) -> Issued {
        let access_token = format!("doo_v1_{}", random::hex(32));
        let refresh_token = format!("dor_v1_{}", random::hex(32));
        self.tokens.insert(
            access_token.clone(),
            Token {
                account,
                scope: scope.to_owned(),
                expires_at: Some(now + TOKEN_LIFETIME_SECS),
                refresh_token: Some(refresh_token.clone()),
            },
        );
        self.refresh
            .insert(refresh_token.clone(), access_token.clone());
        Issued {
            access_token,
            refresh_token,
            scope: scope.to_owned(),
            account,
        }
    }

    /// Revokes the pair an access or refresh token belongs to; false if unknown.
    pub(crate) fn revoke(&mut self, token: &str) -> bool {
        let key = token.to_owned();
        if let Some(access) = self.refresh.remove(&key) {
            self.tokens.remove(&access);
            self.buckets.remove(&access);
            return true;
        }
        match self.tokens.remove(&key) {
            Some(t) => {
                if let Some(r) = t.refresh_token {
                    self.refresh.remove(&r);
                }
                self.buckets.remove(&key);
                true
            }
            None => false,
        }
    }

    /// Changes a droplet's status; becoming active assigns its public address
    /// and completes its `create` action. False if there is no such droplet.
    pub(crate) fn set_status(
        &mut self,
        id: u64,
        status: DropletStatus,
        config: &DoConfig,
        now: u64,
    ) -> bool {
        let Some(droplet) = self.droplets.get_mut(&id) else {
            return false;
        };
        droplet.status = status;
        if status == DropletStatus::Active {
            if droplet.public_ipv4.is_none() {
                let last = u8::try_from(id % 250).unwrap_or(0) + 2;
                droplet.public_ipv4 = Some(
                    config
                        .public_ipv4
                        .unwrap_or(Ipv4Addr::new(203, 0, 113, last)),
                );
            }
            let action = droplet.create_action;
            if let Some(a) = self.actions.get_mut(&action)
                && a.completed_at.is_none()
            {
                a.status = "completed".to_owned();
                a.completed_at = Some(now);
            }
        }
        true
    }

    /// Records a new action on a droplet and returns it.
    pub(crate) fn new_action(
        &mut self,
        kind: &str,
        droplet: u64,
        region: &str,
        now: u64,
    ) -> Action {
        let action = Action {
            id: self.next_action_id,
            status: "in-progress".to_owned(),
            kind: kind.to_owned(),
            started_at: now,
            completed_at: None,
            resource_id: droplet,
            region_slug: region.to_owned(),
        };
        self.next_action_id += 1;
        self.actions.insert(action.id, action.clone());
        action
    }
}
