//! What provisioning needs from Spin variables: the gateway release to install, where the
//! gateway dials home, and the salt its token is hashed with.

use chatcode_core::{
    ApiError, ErrorKind,
    cloud_init::{GatewayRelease, gateway_connect_url},
};
use chatcode_kit::config;

/// The salt of stored gateway token hashes.
pub fn token_salt() -> Result<String, ApiError> {
    config::required("gateway_token_salt")
}

/// Everything a new VPS's cloud-init needs besides its credentials.
pub struct Provisioning {
    /// The gateway release to install.
    pub release: GatewayRelease,
    /// `GATEWAY_CP_URL`.
    pub connect_url: String,
}

impl Provisioning {
    /// Reads and checks the release and hub settings. A missing or invalid one answers 503
    /// naming the variable: the operator must fix it, and nothing is created meanwhile.
    pub fn load() -> Result<Self, ApiError> {
        let unusable = |what: String| {
            eprintln!("cannot provision: {what}");
            ApiError::new(
                ErrorKind::ServiceUnavailable,
                format!("VPS provisioning is not configured: {what}"),
            )
        };
        let get = |name: &str| {
            config::optional(name).ok_or_else(|| unusable(format!("variable {name} is not set")))
        };
        let release = GatewayRelease::new(
            &get("gateway_version")?,
            &get("gateway_download_url")?,
            &get("gateway_sha256")?,
        )
        .map_err(|e| unusable(e.to_string()))?;
        let connect_url =
            gateway_connect_url(&get("hub_public_url")?).map_err(|e| unusable(e.to_string()))?;
        Ok(Self {
            release,
            connect_url,
        })
    }
}
