//! The app's internal routes, as the hub calls them: gateway authentication (successes cached
//! briefly), event batches, migrations and the sweeps. Always with
//! `Authorization: Bearer <hub_secret>`.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Most gateway authentications kept in the cache.
const AUTH_CACHE_ENTRIES: usize = 100_000;

/// Why a call to the app failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No answer (connection refused, timeout).
    #[error("the app is unreachable: {0}")]
    Unreachable(String),
    /// An answer other than the ones the route documents.
    #[error("the app answered HTTP {0}")]
    Status(u16),
}

/// What the app knows of an authenticated gateway.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GatewayOwner {
    /// The VPS it runs on.
    pub vps_id: String,
    /// The VPS's owner.
    pub user_id: String,
}

struct CachedAuth {
    token_digest: [u8; 32],
    until: Instant,
    owner: GatewayOwner,
}

/// A client of the app's internal routes.
pub struct AppClient {
    http: reqwest::Client,
    base: String,
    secret: String,
    cache_for: Duration,
    cache: Mutex<HashMap<String, CachedAuth>>,
}

impl AppClient {
    /// A client of the app at `base`.
    pub fn new(base: &str, secret: &str, cache_for: Duration) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            base: base.trim_end_matches('/').to_owned(),
            secret: secret.to_owned(),
            cache_for,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// `POST /internal/gateways/auth`: the gateway's owner, or `None` when the app says 401.
    pub async fn authenticate(
        &self,
        gateway_id: &str,
        token: &str,
    ) -> Result<Option<GatewayOwner>, AppError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(owner) = self.cached(gateway_id, &digest) {
            return Ok(Some(owner));
        }
        let response = self
            .post("/internal/gateways/auth")
            .json(&serde_json::json!({ "gateway_id": gateway_id, "token": token }))
            .send()
            .await
            .map_err(|e| AppError::Unreachable(e.to_string()))?;
        match response.status().as_u16() {
            200 => {
                let owner: GatewayOwner = response
                    .json()
                    .await
                    .map_err(|e| AppError::Unreachable(e.to_string()))?;
                self.remember(gateway_id, digest, owner.clone());
                Ok(Some(owner))
            }
            // A malformed id or token is as good as a wrong one.
            400 | 401 => Ok(None),
            status => Err(AppError::Status(status)),
        }
    }

    /// `POST /internal/gateways/:id/events` with a batch's JSON `body`
    /// ([`chatcode_core::hub_events::EventBatch`]).
    pub async fn record(&self, gateway_id: &str, body: Vec<u8>) -> Result<(), AppError> {
        let response = self
            .post(&format!("/internal/gateways/{gateway_id}/events"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| AppError::Unreachable(e.to_string()))?;
        match response.status().as_u16() {
            200 => Ok(()),
            status => Err(AppError::Status(status)),
        }
    }

    /// `POST /internal/migrate`: applies the schema's pending migrations (each runs once, so
    /// every hub may ask at start-up); the app's account of what it did.
    pub async fn migrate(&self) -> Result<serde_json::Value, AppError> {
        self.answer_of("/internal/migrate", None).await
    }

    /// `POST /internal/sweep`; `hub_started` on the hub's first call, so the app disconnects
    /// every gateway it has connected (none is, through a hub that just started).
    pub async fn sweep(&self, hub_started: bool) -> Result<serde_json::Value, AppError> {
        let body = if hub_started {
            serde_json::json!({ "hub_started": true })
        } else {
            serde_json::json!({})
        };
        self.answer_of("/internal/sweep", Some(&body)).await
    }

    /// `POST /internal/billing/sweep`: the budget guard powers off the VPSes of users out of
    /// credits for longer than their grace.
    pub async fn billing_sweep(&self) -> Result<serde_json::Value, AppError> {
        self.answer_of("/internal/billing/sweep", Some(&serde_json::json!({})))
            .await
    }

    /// `POST path`, with `body` as JSON if there is one, to a route that answers 200 with JSON.
    async fn answer_of(
        &self,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, AppError> {
        let mut request = self.post(path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| AppError::Unreachable(e.to_string()))?;
        match response.status().as_u16() {
            200 => response
                .json()
                .await
                .map_err(|e| AppError::Unreachable(e.to_string())),
            status => Err(AppError::Status(status)),
        }
    }

    /// Forgets a cached authentication (the gateway's VPS may be gone).
    pub fn forget(&self, gateway_id: &str) {
        self.lock().remove(gateway_id);
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.secret)
    }

    fn cached(&self, gateway_id: &str, digest: &[u8; 32]) -> Option<GatewayOwner> {
        let cache = self.lock();
        let entry = cache.get(gateway_id)?;
        let same = bool::from(entry.token_digest.ct_eq(digest));
        (same && entry.until > Instant::now()).then(|| entry.owner.clone())
    }

    fn remember(&self, gateway_id: &str, token_digest: [u8; 32], owner: GatewayOwner) {
        let mut cache = self.lock();
        let now = Instant::now();
        if cache.len() >= AUTH_CACHE_ENTRIES {
            cache.retain(|_, entry| entry.until > now);
        }
        if cache.len() < AUTH_CACHE_ENTRIES {
            cache.insert(
                gateway_id.to_owned(),
                CachedAuth {
                    token_digest,
                    until: now + self.cache_for,
                    owner,
                },
            );
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedAuth>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
