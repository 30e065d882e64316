//! The simulator's settings, with the real gateway's defaults and its `GATEWAY_*` variables.

use std::collections::BTreeMap;
use std::time::Duration;

use chatcode_core::protocol::SystemInfo;

use crate::health;

/// The version the simulator reports in `gateway.hello` unless told otherwise.
pub const DEFAULT_VERSION: &str = "v0.1.0-sim";
/// The Go runtime the simulator claims to be built with.
pub const DEFAULT_GO_VERSION: &str = "go1.22.5";

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is absent or empty.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// `GATEWAY_ID` is not `^[A-Za-z0-9_-]+$`.
    #[error("GATEWAY_ID must match ^[A-Za-z0-9_-]+$")]
    BadGatewayId,
    /// `GATEWAY_CP_URL` is not a `ws://` or `wss://` URL.
    #[error("GATEWAY_CP_URL must start with ws:// or wss://")]
    BadUrl,
    /// A variable holds a value of the wrong form.
    #[error("{name} has an invalid value {value:?}")]
    BadValue {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
}

/// Reconnect back-off: the first wait, doubled after each failure up to `max`, reset by a
/// successful connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait (1 s).
    pub initial: Duration,
    /// The longest wait (30 s).
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

/// Everything a simulated gateway needs. Build it with [`SimConfig::new`] and adjust the public
/// fields, or read it from `GATEWAY_*` variables.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Where to dial: `ws://` or `wss://…/gw/connect`.
    pub cp_url: String,
    /// `GATEWAY_ID`, sent as `X-Gateway-Id` and in every hello and health report.
    pub gateway_id: String,
    /// `GATEWAY_AUTH_TOKEN`, sent as `Authorization: Bearer …`.
    pub token: String,
    /// Version in `gateway.hello`.
    pub version: String,
    /// Hostname in `gateway.hello`.
    pub hostname: String,
    /// `go_version` in `gateway.hello`.
    pub go_version: String,
    /// The machine described in `gateway.hello`.
    pub system_info: SystemInfo,
    /// Time between `gateway.health` reports (30 s).
    pub health_interval: Duration,
    /// Time between output flushes (50 ms).
    pub output_batch: Duration,
    /// Time between WebSocket pings (20 s).
    pub ping_interval: Duration,
    /// Reconnect back-off (1 s doubling to 30 s).
    pub backoff: Backoff,
    /// `GATEWAY_MAX_SESSIONS`: live sessions allowed, if limited.
    pub max_sessions: Option<usize>,
    /// `GATEWAY_LOG_LEVEL`, for the binary's log filter.
    pub log_level: Option<String>,
}

impl SimConfig {
    /// A configuration with the real gateway's defaults and this machine's hostname.
    pub fn new(
        cp_url: impl Into<String>,
        gateway_id: impl Into<String>,
        token: impl Into<String>,
    ) -> SimConfig {
        SimConfig {
            cp_url: cp_url.into(),
            gateway_id: gateway_id.into(),
            token: token.into(),
            version: DEFAULT_VERSION.to_string(),
            hostname: health::probe_hostname(),
            go_version: DEFAULT_GO_VERSION.to_string(),
            system_info: health::probe_system(),
            health_interval: Duration::from_secs(30),
            output_batch: Duration::from_millis(50),
            ping_interval: Duration::from_secs(20),
            backoff: Backoff::default(),
            max_sessions: None,
            log_level: None,
        }
    }

    /// The configuration in this process's environment, as the real gateway reads it.
    pub fn from_env() -> Result<SimConfig, ConfigError> {
        SimConfig::from_vars(std::env::vars())
    }

    /// The configuration in the `KEY=VALUE` lines of a `/etc/chatcode/gateway.env` text.
    pub fn from_env_file(text: &str) -> Result<SimConfig, ConfigError> {
        SimConfig::from_vars(parse_env_file(text))
    }

    /// The configuration in `GATEWAY_*` variables; other names are ignored, and a later pair
    /// replaces an earlier one of the same name.
    pub fn from_vars<I, K, V>(vars: I) -> Result<SimConfig, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: BTreeMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(k, _)| k.starts_with("GATEWAY_"))
            .collect();
        let required = |name: &'static str| match vars.get(name) {
            Some(value) if !value.trim().is_empty() => Ok(value.trim().to_string()),
            _ => Err(ConfigError::Missing(name)),
        };
        let mut config = SimConfig::new(
            required("GATEWAY_CP_URL")?,
            required("GATEWAY_ID")?,
            required("GATEWAY_AUTH_TOKEN")?,
        );
        if let Some(value) = vars.get("GATEWAY_HEALTH_INTERVAL") {
            config.health_interval = parse_interval(value).ok_or(ConfigError::BadValue {
                name: "GATEWAY_HEALTH_INTERVAL",
                value: value.clone(),
            })?;
        }
        if let Some(value) = vars.get("GATEWAY_MAX_SESSIONS") {
            let max = value.trim().parse().map_err(|_| ConfigError::BadValue {
                name: "GATEWAY_MAX_SESSIONS",
                value: value.clone(),
            })?;
            config.max_sessions = Some(max);
        }
        config.log_level = vars
            .get("GATEWAY_LOG_LEVEL")
            .map(|level| level.trim().to_string())
            .filter(|level| !level.is_empty());
        config.validate()?;
        Ok(config)
    }

    /// Checks what the real gateway checks at start: the id's syntax, the URL's scheme, a token.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let id_ok = !self.gateway_id.is_empty()
            && self
                .gateway_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(ConfigError::BadGatewayId);
        }
        if !(self.cp_url.starts_with("ws://") || self.cp_url.starts_with("wss://")) {
            return Err(ConfigError::BadUrl);
        }
        if self.token.is_empty() {
            return Err(ConfigError::Missing("GATEWAY_AUTH_TOKEN"));
        }
        Ok(())
    }
}

/// The `KEY=VALUE` pairs of an env file: blank lines and `#` comments skipped, an optional
/// `export ` prefix and one pair of matching quotes around the value removed.
pub fn parse_env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            let value = value.trim();
            let unquoted = ['"', '\'']
                .into_iter()
                .find_map(|q| value.strip_prefix(q)?.strip_suffix(q))
                .unwrap_or(value);
            Some((key.trim().to_string(), unquoted.to_string()))
        })
        .collect()
}

/// A duration as whole seconds (`30`) or Go-style (`30s`, `500ms`, `2m`); zero is refused.
pub fn parse_interval(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: u64 = number.parse().ok()?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.checked_mul(60)?),
        _ => return None,
    };
    (!duration.is_zero()).then_some(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# written by cloud-init\n\
        GATEWAY_ID=gw-V1StGXR8_Z5jdHi6B-myT\n\
        export GATEWAY_AUTH_TOKEN=\"0123abcd\"\n\
        GATEWAY_CP_URL='wss://chatcode.example/gw/connect'\n\
        \n\
        GATEWAY_HEALTH_INTERVAL=5\n\
        OTHER=ignored\n";

    #[test]
    fn reads_the_cloud_init_file() {
        let config = SimConfig::from_env_file(FILE);
        let Ok(config) = config else {
            panic!("{config:?}");
        };
        assert_eq!(config.gateway_id, "gw-V1StGXR8_Z5jdHi6B-myT");
        assert_eq!(config.token, "0123abcd");
        assert_eq!(config.cp_url, "wss://chatcode.example/gw/connect");
        assert_eq!(config.health_interval, Duration::from_secs(5));
        assert_eq!(config.version, DEFAULT_VERSION);
        assert_eq!(config.backoff, Backoff::default());
    }

    #[test]
    fn refuses_what_the_gateway_refuses() {
        let base = [
            ("GATEWAY_ID", "gw-1"),
            ("GATEWAY_AUTH_TOKEN", "t"),
            ("GATEWAY_CP_URL", "ws://127.0.0.1:1/gw/connect"),
        ];
        let with = |key: &'static str, value: &'static str| {
            SimConfig::from_vars(base.into_iter().chain([(key, value)]))
        };
        assert!(with("OTHER", "x").is_ok());
        assert_eq!(
            with("GATEWAY_ID", "gw 1").err(),
            Some(ConfigError::BadGatewayId)
        );
        assert_eq!(
            with("GATEWAY_CP_URL", "https://x/gw/connect").err(),
            Some(ConfigError::BadUrl)
        );
        assert_eq!(
            with("GATEWAY_AUTH_TOKEN", " ").err(),
            Some(ConfigError::Missing("GATEWAY_AUTH_TOKEN"))
        );
        assert!(matches!(
            with("GATEWAY_HEALTH_INTERVAL", "soon"),
            Err(ConfigError::BadValue { .. })
        ));
        assert!(matches!(
            with("GATEWAY_MAX_SESSIONS", "-1"),
            Err(ConfigError::BadValue { .. })
        ));
        assert_eq!(
            SimConfig::from_vars([("GATEWAY_ID", "gw-1")]).err(),
            Some(ConfigError::Missing("GATEWAY_CP_URL"))
        );
    }

    #[test]
    fn intervals_take_seconds_or_go_durations() {
        assert_eq!(parse_interval("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_interval("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_interval("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_interval("0"), None);
        assert_eq!(parse_interval("1h"), None);
        assert_eq!(parse_interval(""), None);
    }
}
