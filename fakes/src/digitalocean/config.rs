//! How a DigitalOcean fake is set up: the registered OAuth app, the accounts
//! that can sign in, and the knobs tests turn.

use std::{net::Ipv4Addr, time::Duration};

/// A DigitalOcean account (the `info` of a token response, and `/v2/account`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoAccount {
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Account UUID.
    pub uuid: String,
    /// The team the OAuth grant is for.
    pub team_uuid: Option<String>,
}

impl DoAccount {
    /// An account with the given name and email and fixed-looking UUIDs.
    pub fn new(name: &str, email: &str) -> Self {
        let seed: u32 = email
            .bytes()
            .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        Self {
            name: name.to_owned(),
            email: email.to_owned(),
            uuid: format!("{seed:08x}a1b2c3d4e5f60718293a4b5c6d7e8f90"),
            team_uuid: Some(format!("{seed:08x}-dc84-11e8-981e-3cfdfeaae000")),
        }
    }
}

impl Default for DoAccount {
    fn default() -> Self {
        Self::new("Sammy the Shark", "sammy@example.com")
    }
}

/// Configuration of a DigitalOcean fake.
#[derive(Debug, Clone)]
pub struct DoConfig {
    /// The registered OAuth application's client id.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
    /// Its registered callback URL; `/authorize` requires an exact match
    /// ([`super::DoHandle::set_redirect_uri`] registers another).
    pub redirect_uri: String,
    /// Accounts that can sign in; the first one does unless a test picks
    /// another with [`super::DoHandle::sign_in_as`]. Empty means one default.
    pub accounts: Vec<DoAccount>,
    /// API tokens accepted as-is (scope `read write`, first account), like
    /// personal access tokens.
    pub static_tokens: Vec<String>,
    /// `/authorize` answers `error=access_denied` (the user said no).
    pub deny_authorization: bool,
    /// A new droplet turns `active` this long after creation (on the fake's
    /// clock); `None` keeps it `new` until a test calls `set_status`.
    pub active_after: Option<Duration>,
    /// Public IPv4 every droplet gets when active; `None` derives one from the
    /// droplet id in 203.0.113.0/24 (TEST-NET-3).
    pub public_ipv4: Option<Ipv4Addr>,
    /// Requests per token per hour (`ratelimit-limit`); past it, 429.
    pub rate_limit: u32,
    /// Droplets an account may have; creating more answers 422.
    pub droplet_limit: usize,
    /// Region for a droplet created without one.
    pub default_region: String,
    /// How many requests the journal keeps (the oldest go first).
    pub journal_capacity: usize,
}

impl Default for DoConfig {
    fn default() -> Self {
        Self {
            client_id: "fake-do-client-id".to_owned(),
            client_secret: "fake-do-client-secret".to_owned(),
            redirect_uri: "http://127.0.0.1:3000/auth/digitalocean/callback".to_owned(),
            accounts: vec![DoAccount::default()],
            static_tokens: Vec::new(),
            deny_authorization: false,
            active_after: None,
            public_ipv4: None,
            rate_limit: 5000,
            droplet_limit: 25,
            default_region: "nyc3".to_owned(),
            journal_capacity: 1000,
        }
    }
}
