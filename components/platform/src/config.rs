//! Component configuration, read only from Spin variables.

use std::fmt;

use spin_sdk::variables;

/// Spin variable holding the shared secret of internal routes.
const HUB_SECRET: &str = "hub_secret";
/// Spin variable naming the deployment environment (`development`, `production`).
const ENVIRONMENT: &str = "environment";

/// What the internal routes need.
pub struct Config {
    /// Bearer secret the hub presents on `/internal/…` routes.
    pub hub_secret: String,
}

impl Config {
    /// Reads the component's variables.
    pub fn load() -> Result<Self, variables::Error> {
        Ok(Config {
            hub_secret: variables::get(HUB_SECRET)?,
        })
    }
}

/// The `environment` variable, if this component is given one (reported by `/healthz`).
pub fn environment() -> Option<String> {
    variables::get(ENVIRONMENT).ok()
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("hub_secret", &"<redacted>")
            .finish()
    }
}
