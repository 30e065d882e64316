//! `allowed_outbound_hosts`: parsing the manifest's entries and deciding requests.
//!
//! Entries are `scheme://host[:port]` after template expansion. The host may be
//! `*`, `*.domain`, or an exact name or address; the port may be a number, a
//! range `a..b`, or `*`; without a port the scheme's default applies.
//! `insecure:allow-all` allows everything. `self` (requests to the app itself
//! by relative URL) is accepted in manifests but allows no network request:
//! the embedded runtime does not chain requests back into the app.

use std::fmt;

/// One parsed `allowed_outbound_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: Pattern,
    host: HostPattern,
    port: PortPattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Any,
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    SelfApp,
    Suffix(String),
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    Default,
    Range(u16, u16),
}

/// The set of hosts one component may call.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allow_all: bool,
    hosts: Vec<AllowedHost>,
}

/// An entry that is not of the accepted shape.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidEntry {
    entry: String,
    reason: &'static str,
}

impl fmt::Display for InvalidEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid allowed_outbound_hosts entry '{}': {}",
            self.entry, self.reason
        )
    }
}

impl std::error::Error for InvalidEntry {}

impl AllowedHost {
    /// Parses one expanded entry.
    pub fn parse(entry: &str) -> Result<Self, InvalidEntry> {
        let bad = |reason| InvalidEntry {
            entry: entry.to_string(),
            reason,
        };
        let (scheme, rest) = entry
            .split_once("://")
            .ok_or_else(|| bad("expected scheme://host[:port]"))?;
        if scheme.is_empty() {
            return Err(bad("missing scheme"));
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            return Err(bad("paths are not allowed"));
        }
        let (host, port) = split_host_port(rest).ok_or_else(|| bad("malformed host or port"))?;
        if host.is_empty() {
            return Err(bad("missing host"));
        }
        let host = match host {
            "*" => HostPattern::Any,
            "self" => HostPattern::SelfApp,
            h if h.starts_with("*.") => HostPattern::Suffix(h[1..].to_ascii_lowercase()),
            h if h.contains('*') => {
                return Err(bad(
                    "'*' is only allowed as the whole host or a leading '*.'",
                ));
            }
            h => HostPattern::Exact(h.to_ascii_lowercase()),
        };
        let port = match port {
            None => PortPattern::Default,
            Some("*") => PortPattern::Any,
            Some(p) => match p.split_once("..") {
                Some((a, b)) => {
                    let (a, b) = (
                        a.parse().map_err(|_| bad("bad port"))?,
                        b.parse().map_err(|_| bad("bad port"))?,
                    );
                    if a >= b {
                        return Err(bad("empty port range"));
                    }
                    // Spin's ranges are end-exclusive, like Rust's.
                    PortPattern::Range(a, b - 1)
                }
                None => {
                    let n = p.parse().map_err(|_| bad("bad port"))?;
                    PortPattern::Range(n, n)
                }
            },
        };
        let scheme = if scheme == "*" {
            Pattern::Any
        } else {
            Pattern::Exact(scheme.to_ascii_lowercase())
        };
        Ok(Self { scheme, host, port })
    }

    fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = match &self.scheme {
            Pattern::Any => true,
            Pattern::Exact(s) => s == scheme,
        };
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::SelfApp => false,
            HostPattern::Suffix(suffix) => host.ends_with(suffix.as_str()),
            HostPattern::Exact(h) => h == host,
        };
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Default => Some(port) == default_port(scheme),
            PortPattern::Range(a, b) => (a..=b).contains(&port),
        };
        scheme_ok && host_ok && port_ok
    }
}

impl OutboundPolicy {
    /// Builds the policy from expanded entries.
    pub fn new(entries: &[String]) -> Result<Self, InvalidEntry> {
        let mut policy = Self::default();
        for entry in entries {
            if entry == "insecure:allow-all" {
                policy.allow_all = true;
            } else {
                policy.hosts.push(AllowedHost::parse(entry)?);
            }
        }
        Ok(policy)
    }

    /// Whether a request to `scheme://host:port` may go out.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        if self.allow_all {
            return true;
        }
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        self.hosts
            .iter()
            .any(|h| h.allows(&scheme.to_ascii_lowercase(), &host, port))
    }
}

/// The port a scheme uses when a URL names none.
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            a => Some((host, Some(a.strip_prefix(':')?))),
        };
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port))),
        Some(_) => None,
        None => Some((s, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[&str]) -> OutboundPolicy {
        OutboundPolicy::new(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn exact_host_uses_the_default_port() {
        let p = policy(&["https://api.digitalocean.com"]);
        assert!(p.allows("https", "api.digitalocean.com", 443));
        assert!(p.allows("https", "API.DigitalOcean.com", 443));
        assert!(!p.allows("https", "api.digitalocean.com", 8443));
        assert!(!p.allows("http", "api.digitalocean.com", 80));
        assert!(!p.allows("https", "evil.com", 443));
    }

    #[test]
    fn wildcards_and_ports() {
        let p = policy(&[
            "http://127.0.0.1:*",
            "https://*.github.com",
            "*://x.io:8000..8002",
        ]);
        assert!(p.allows("http", "127.0.0.1", 41234));
        assert!(p.allows("https", "api.github.com", 443));
        assert!(!p.allows("https", "github.com", 443));
        assert!(p.allows("http", "x.io", 8001));
        assert!(!p.allows("http", "x.io", 8002));
    }

    #[test]
    fn self_allows_no_network_request() {
        let p = policy(&["http://self"]);
        assert!(!p.allows("http", "self", 80));
        assert!(!p.allows("http", "localhost", 80));
    }

    #[test]
    fn allow_all_and_ipv6() {
        assert!(policy(&["insecure:allow-all"]).allows("https", "anything", 1));
        assert!(policy(&["http://[::1]:8080"]).allows("http", "[::1]", 8080));
    }

    #[test]
    fn malformed_entries_are_refused() {
        for bad in [
            "api.com",
            "https://",
            "https://a.com/path",
            "https://a*b.com",
            "http://a:x",
            "http://a:5..5",
        ] {
            assert!(AllowedHost::parse(bad).is_err(), "{bad}");
        }
    }
}
