//! The cloud-init user data that turns a fresh droplet into a chatcode VPS: it writes the
//! gateway's credentials to `/etc/chatcode/gateway.env`, downloads the gateway release,
//! checks its SHA-256, and runs it as a systemd service.
//!
//! Every value placed in the document is validated first ([`GatewayRelease::new`],
//! [`gateway_connect_url`]) so none can break out of its YAML or shell context.

use std::fmt;

/// Where the gateway binary is installed.
pub const GATEWAY_BINARY: &str = "/usr/local/bin/chatcode-gateway";
/// Where the gateway reads its environment.
pub const GATEWAY_ENV_FILE: &str = "/etc/chatcode/gateway.env";

/// Why a release or hub setting cannot go into user data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseError {
    /// The download URL is not a plain http(s) URL.
    DownloadUrl,
    /// The checksum is not 64 hex digits.
    Checksum,
    /// The version holds characters other than letters, digits, `.`, `_`, `-`, `+`.
    Version,
    /// The hub URL is not a plain http(s) or ws(s) URL.
    HubUrl,
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReleaseError::DownloadUrl => "gateway_download_url must be an http(s) URL",
            ReleaseError::Checksum => "gateway_sha256 must be 64 hexadecimal digits",
            ReleaseError::Version => "gateway_version may hold only letters, digits, . _ - +",
            ReleaseError::HubUrl => "hub_public_url must be an http(s) or ws(s) URL",
        })
    }
}

impl std::error::Error for ReleaseError {}

/// The gateway release every new VPS installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRelease {
    version: String,
    download_url: String,
    sha256: String,
}

impl GatewayRelease {
    /// Validates a release; `{version}` in the URL is replaced by the version.
    pub fn new(version: &str, download_url: &str, sha256: &str) -> Result<Self, ReleaseError> {
        let version_ok = !version.is_empty()
            && version.len() <= 64
            && version
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b));
        if !version_ok {
            return Err(ReleaseError::Version);
        }
        let download_url = download_url.replace("{version}", version);
        if !is_plain_url(&download_url, &["https://", "http://"]) {
            return Err(ReleaseError::DownloadUrl);
        }
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ReleaseError::Checksum);
        }
        Ok(Self {
            version: version.to_owned(),
            download_url,
            sha256: sha256.to_ascii_lowercase(),
        })
    }

    /// The release's version tag.
    pub fn version(&self) -> &str {
        &self.version
    }
}

/// `GATEWAY_CP_URL`: the hub's `/gw/connect` as a WebSocket URL (`https` → `wss`,
/// `http` → `ws`; `ws(s)` kept), from the hub's public URL.
pub fn gateway_connect_url(hub_public_url: &str) -> Result<String, ReleaseError> {
    let base = hub_public_url.trim_end_matches('/');
    if !is_plain_url(base, &["https://", "http://", "wss://", "ws://"]) {
        return Err(ReleaseError::HubUrl);
    }
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    Ok(format!("{ws}/gw/connect"))
}

/// A URL with one of `schemes`, a host, and only characters that need no quoting in YAML
/// or the shell (no spaces, quotes, `$`, backslashes or control characters).
fn is_plain_url(url: &str, schemes: &[&str]) -> bool {
    let Some(rest) = schemes.iter().find_map(|s| url.strip_prefix(s)) else {
        return false;
    };
    let host_present = rest
        .split(['/', '?', '#'])
        .next()
        .is_some_and(|host| !host.is_empty());
    host_present
        && url.len() <= 2048
        && url
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!&()*+,;=%".contains(&b))
}

/// What one VPS's gateway needs to dial home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayCredentials<'a> {
    /// `GATEWAY_ID` (URL-safe, from [`crate::ids`]).
    pub gateway_id: &'a str,
    /// `GATEWAY_AUTH_TOKEN` in plain text (hex); only its HMAC is stored.
    pub token: &'a str,
    /// `GATEWAY_CP_URL`, from [`gateway_connect_url`].
    pub connect_url: &'a str,
}

/// The `#cloud-config` document for a new VPS.
pub fn user_data(credentials: &GatewayCredentials<'_>, release: &GatewayRelease) -> String {
    let GatewayCredentials {
        gateway_id,
        token,
        connect_url,
    } = credentials;
    let GatewayRelease {
        version,
        download_url,
        sha256,
    } = release;
    let download = format!("{GATEWAY_BINARY}.download");
    format!(
        r#"#cloud-config
package_update: true
packages:
  - tmux
  - curl
  - git
write_files:
  - path: {GATEWAY_ENV_FILE}
    owner: root:root
    permissions: "0600"
    content: |
      GATEWAY_ID={gateway_id}
      GATEWAY_AUTH_TOKEN={token}
      GATEWAY_CP_URL={connect_url}
      GATEWAY_VERSION={version}
  - path: /etc/systemd/system/chatcode-gateway.service
    owner: root:root
    permissions: "0644"
    content: |
      [Unit]
      Description=chatcode gateway
      After=network-online.target
      Wants=network-online.target

      [Service]
      EnvironmentFile={GATEWAY_ENV_FILE}
      ExecStart={GATEWAY_BINARY}
      Restart=always
      RestartSec=2

      [Install]
      WantedBy=multi-user.target
runcmd:
  - [curl, -fsSL, --retry, "5", --output, "{download}", "{download_url}"]
  - [sh, -c, "echo '{sha256}  {download}' | sha256sum --check --strict -"]
  - [install, -m, "0755", "{download}", "{GATEWAY_BINARY}"]
  - [rm, -f, "{download}"]
  - [systemctl, daemon-reload]
  - [systemctl, enable, --now, chatcode-gateway.service]
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn release() -> GatewayRelease {
        GatewayRelease::new(
            "v1.2.3",
            "https://github.com/chatcode-dev/gateway/releases/download/{version}/gateway-linux-amd64",
            SHA,
        )
        .unwrap()
    }

    #[test]
    fn writes_the_gateway_environment() {
        let doc = user_data(
            &GatewayCredentials {
                gateway_id: "gw-abc",
                token: "00ff",
                connect_url: "wss://hub.example/gw/connect",
            },
            &release(),
        );
        assert!(doc.starts_with("#cloud-config\n"));
        for line in [
            "      GATEWAY_ID=gw-abc\n",
            "      GATEWAY_AUTH_TOKEN=00ff\n",
            "      GATEWAY_CP_URL=wss://hub.example/gw/connect\n",
            "      GATEWAY_VERSION=v1.2.3\n",
        ] {
            assert!(doc.contains(line), "missing {line:?} in\n{doc}");
        }
        assert!(doc.contains("/releases/download/v1.2.3/gateway-linux-amd64"));
        assert!(doc.contains(&format!("echo '{SHA}  {GATEWAY_BINARY}.download'")));
        assert!(doc.contains("enable, --now, chatcode-gateway.service"));
    }

    #[test]
    fn connect_urls_become_websockets() {
        assert_eq!(
            gateway_connect_url("https://hub.example/").unwrap(),
            "wss://hub.example/gw/connect"
        );
        assert_eq!(
            gateway_connect_url("http://127.0.0.1:3000").unwrap(),
            "ws://127.0.0.1:3000/gw/connect"
        );
        assert_eq!(
            gateway_connect_url("wss://hub.example").unwrap(),
            "wss://hub.example/gw/connect"
        );
        for bad in [
            "",
            "ftp://x",
            "https://",
            "https://a b",
            "https://x/'$(id)'",
        ] {
            assert_eq!(gateway_connect_url(bad), Err(ReleaseError::HubUrl), "{bad}");
        }
    }

    #[test]
    fn releases_are_validated() {
        assert_eq!(release().version(), "v1.2.3");
        assert_eq!(
            GatewayRelease::new("v1;rm", "https://x/y", SHA),
            Err(ReleaseError::Version)
        );
        assert_eq!(
            GatewayRelease::new("v1", "https://x/\"y", SHA),
            Err(ReleaseError::DownloadUrl)
        );
        assert_eq!(
            GatewayRelease::new("v1", "https://x/y", "abc"),
            Err(ReleaseError::Checksum)
        );
        assert_eq!(
            GatewayRelease::new("v1", "https://x/y", &SHA.to_uppercase())
                .unwrap()
                .sha256,
            SHA
        );
    }
}
