//! Sign-in configuration from Spin variables.

use chatcode_core::{ApiError, ErrorKind};
use chatcode_kit::config;

/// One OAuth client registration.
pub struct OAuthClient {
    /// Registered client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// Provider's OAuth base URL (no trailing slash).
    pub oauth_base: String,
    /// Where the provider sends the browser back.
    pub redirect_uri: String,
}

fn base(name: &str) -> Result<String, ApiError> {
    Ok(config::required(name)?.trim_end_matches('/').to_string())
}

fn client(
    id_var: &str,
    secret_var: &str,
    base_var: &str,
    callback: &str,
    name: &str,
) -> Result<OAuthClient, ApiError> {
    let (Some(client_id), Some(client_secret)) =
        (config::optional(id_var), config::optional(secret_var))
    else {
        return Err(ApiError::new(
            ErrorKind::ServiceUnavailable,
            format!("{name} sign-in is not configured on this server"),
        ));
    };
    Ok(OAuthClient {
        client_id,
        client_secret,
        oauth_base: base(base_var)?,
        redirect_uri: format!("{}{callback}", base("public_url")?),
    })
}

/// The DigitalOcean OAuth client.
pub fn digitalocean() -> Result<OAuthClient, ApiError> {
    client(
        "do_client_id",
        "do_client_secret",
        "do_oauth_base",
        crate::digitalocean::CALLBACK,
        "DigitalOcean",
    )
}

/// The GitHub OAuth client.
pub fn github() -> Result<OAuthClient, ApiError> {
    client(
        "github_client_id",
        "github_client_secret",
        "github_oauth_base",
        crate::github::CALLBACK,
        "GitHub",
    )
}

/// GitHub's REST API base URL.
pub fn github_api_base() -> Result<String, ApiError> {
    base("github_api_base")
}
