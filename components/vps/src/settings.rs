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
    /// Reads and checks the release and hub settings. Missing or invalid ones answer 503
    /// naming every missing variable (or the invalid one): the operator must fix them, and
    /// nothing is created meanwhile. `gateway_download_url` and `gateway_sha256` have no
    /// usable default: the operator builds the gateway for their hub and hosts it.
    pub fn load() -> Result<Self, ApiError> {
        let unusable = |what: String| {
            eprintln!("cannot provision: {what}");
            ApiError::new(
                ErrorKind::ServiceUnavailable,
                format!("VPS provisioning is not configured: {what}"),
            )
        };
        let names = [
            "gateway_version",
            "gateway_download_url",
            "gateway_sha256",
            "hub_public_url",
        ];
        let values = names.map(config::optional);
        let missing: Vec<&str> = names
            .iter()
            .zip(&values)
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| *name)
            .collect();
        let [
            Some(version),
            Some(download_url),
            Some(sha256),
            Some(hub_public_url),
        ] = values
        else {
            return Err(unusable(match missing.as_slice() {
                [name] => format!("variable {name} is not set"),
                names => format!("variables {} are not set", names.join(", ")),
            }));
        };
        let release = GatewayRelease::new(&version, &download_url, &sha256)
            .map_err(|e| unusable(e.to_string()))?;
        let connect_url =
            gateway_connect_url(&hub_public_url).map_err(|e| unusable(e.to_string()))?;
        Ok(Self {
            release,
            connect_url,
        })
    }
}
