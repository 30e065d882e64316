//! How a Stripe fake is set up: the API keys it accepts, its API version, and the webhook
//! endpoint events go to.

use std::time::Duration;

/// The secret key a default fake accepts.
pub const DEFAULT_SECRET_KEY: &str = "sk_test_51FakeChatcodeStripeSecretKey000000000000";
/// The webhook signing secret a default fake signs with.
pub const DEFAULT_WEBHOOK_SECRET: &str = "whsec_fakechatcodewebhooksigningsecret0000";

/// Configuration of a Stripe fake.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// Secret keys accepted in `Authorization: Bearer …` (or as Basic user name); all of the
    /// same account. Idempotency keys are scoped per API key.
    pub secret_keys: Vec<String>,
    /// The account's API version: answers without a `Stripe-Version` header carry it, and
    /// events are rendered with it.
    pub api_version: String,
    /// Where events are POSTed; `None` until a test calls
    /// [`super::StripeHandle::set_webhook_endpoint`].
    pub webhook_url: Option<String>,
    /// The endpoint's signing secret (`whsec_…`), used as-is as the HMAC key.
    pub webhook_secret: String,
    /// Event types the endpoint is enabled for (`*` for all).
    pub enabled_events: Vec<String>,
    /// Wait before the first retry of a failed delivery; each retry doubles it.
    pub webhook_backoff: Duration,
    /// Deliveries of one event tried at most this many times (Stripe: for up to three days).
    pub webhook_max_attempts: u32,
    /// How long the fake waits for the endpoint to answer.
    pub webhook_timeout: Duration,
    /// How many requests the journal keeps (the oldest go first).
    pub journal_capacity: usize,
}

impl Default for StripeConfig {
    fn default() -> Self {
        Self {
            secret_keys: vec![DEFAULT_SECRET_KEY.to_owned()],
            api_version: "2025-06-30.basil".to_owned(),
            webhook_url: None,
            webhook_secret: DEFAULT_WEBHOOK_SECRET.to_owned(),
            enabled_events: vec!["*".to_owned()],
            webhook_backoff: Duration::from_secs(1),
            webhook_max_attempts: 8,
            webhook_timeout: Duration::from_secs(10),
            journal_capacity: 1000,
        }
    }
}
