//! How a Stripe fake is set up: the API keys it accepts and its API version.

/// The secret key a default fake accepts.
pub const DEFAULT_SECRET_KEY: &str = "sk_test_51FakeChatcodeStripeSecretKey000000000000";

/// Configuration of a Stripe fake.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// Secret keys accepted in `Authorization: Bearer …` (or as Basic user name); all of the
    /// same account. Idempotency keys are scoped per API key.
    pub secret_keys: Vec<String>,
    /// The account's API version: answers without a `Stripe-Version` header carry it, and
    /// events are rendered with it.
    pub api_version: String,
    /// How many requests the journal keeps (the oldest go first).
    pub journal_capacity: usize,
}

impl Default for StripeConfig {
    fn default() -> Self {
        Self {
            secret_keys: vec![DEFAULT_SECRET_KEY.to_owned()],
            api_version: "2025-06-30.basil".to_owned(),
            journal_capacity: 1000,
        }
    }
}
