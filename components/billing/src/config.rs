//! Billing's configuration: the catalog (plans, packages, prices, signup credits) parsed from
//! JSON variables on each use, and Stripe's keys. A bad catalog value is a logged 500 naming
//! the variable; a missing Stripe key is a 503 naming it.

use chatcode_core::{
    ApiError, ErrorKind,
    billing::catalog::{self, ConfigError, CreditPackage, Plan, PriceTable},
};
use chatcode_kit::config;

/// Where Stripe's API is unless `stripe_api_base` says otherwise.
const DEFAULT_API_BASE: &str = "https://api.stripe.com";

/// Logs a bad variable and answers 500 naming it (never its value).
fn misconfigured(e: ConfigError) -> ApiError {
    eprintln!("{e}");
    ApiError::new(
        ErrorKind::Internal,
        format!(
            "billing is misconfigured: check the variable {}",
            e.variable
        ),
    )
}

/// A catalog variable; unset counts as invalid (spin.toml gives each a default).
fn catalog_variable(name: &'static str) -> Result<String, ApiError> {
    config::optional(name).ok_or_else(|| {
        misconfigured(ConfigError {
            variable: name,
            reason: "it is empty".into(),
        })
    })
}

/// `billing_plans`.
pub fn plans() -> Result<Vec<Plan>, ApiError> {
    catalog::parse_plans(&catalog_variable("billing_plans")?).map_err(misconfigured)
}

/// `credit_packages`.
pub fn packages() -> Result<Vec<CreditPackage>, ApiError> {
    catalog::parse_packages(&catalog_variable("credit_packages")?).map_err(misconfigured)
}

/// `usage_prices`.
pub fn prices() -> Result<PriceTable, ApiError> {
    catalog::parse_prices(&catalog_variable("usage_prices")?).map_err(misconfigured)
}

/// `signup_credits`.
pub fn signup_credits() -> Result<i64, ApiError> {
    catalog::parse_signup_credits(&catalog_variable("signup_credits")?).map_err(misconfigured)
}

/// A Stripe variable, or 503 naming it.
fn stripe_variable(name: &'static str) -> Result<String, ApiError> {
    config::optional(name).ok_or_else(|| {
        ApiError::new(
            ErrorKind::ServiceUnavailable,
            format!("Stripe is not configured: set the variable {name}"),
        )
        .with_code("stripe_not_configured")
    })
}

/// `stripe_secret_key` (secret).
pub fn secret_key() -> Result<String, ApiError> {
    stripe_variable("stripe_secret_key")
}

/// `stripe_webhook_secret` (secret).
pub fn webhook_secret() -> Result<String, ApiError> {
    stripe_variable("stripe_webhook_secret")
}

/// `stripe_publishable_key`.
pub fn publishable_key() -> Result<String, ApiError> {
    stripe_variable("stripe_publishable_key")
}

/// `stripe_api_base`, without a trailing `/`.
pub fn api_base() -> String {
    config::optional("stripe_api_base")
        .unwrap_or_else(|| DEFAULT_API_BASE.to_owned())
        .trim_end_matches('/')
        .to_owned()
}
