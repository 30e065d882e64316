//! How a GitHub fake is set up: the registered OAuth app and the users who
//! can sign in, each with their email addresses.

use base64::{Engine, engine::general_purpose::STANDARD};

/// One entry of `GET /user/emails`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubEmail {
    /// The address.
    pub email: String,
    /// The account's primary address.
    pub primary: bool,
    /// Verified by GitHub.
    pub verified: bool,
    /// `public`, `private`, or `None` (JSON null).
    pub visibility: Option<String>,
}

impl GithubEmail {
    /// An address with the given flags and no visibility setting.
    pub fn new(email: &str, primary: bool, verified: bool) -> Self {
        Self {
            email: email.to_owned(),
            primary,
            verified,
            visibility: None,
        }
    }
}

/// A GitHub user who can sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubUser {
    /// Username.
    pub login: String,
    /// Numeric user id.
    pub id: u64,
    /// GraphQL node id.
    pub node_id: String,
    /// Display name (nullable).
    pub name: Option<String>,
    /// Public profile email (nullable; `/user` shows only this one).
    pub email: Option<String>,
    /// Avatar image URL.
    pub avatar_url: String,
    /// Every address, for `/user/emails`.
    pub emails: Vec<GithubEmail>,
}

impl GithubUser {
    /// A user with a verified primary address `{login}@example.com` that is
    /// private (so `/user` shows `email: null`).
    pub fn new(login: &str, id: u64) -> Self {
        let mut primary = GithubEmail::new(&format!("{login}@example.com"), true, true);
        primary.visibility = Some("private".to_owned());
        Self {
            login: login.to_owned(),
            id,
            node_id: STANDARD.encode(format!("04:User{id}")),
            name: Some(login.to_owned()),
            email: None,
            avatar_url: format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
            emails: vec![primary],
        }
    }
}

/// Configuration of a GitHub fake.
#[derive(Debug, Clone)]
pub struct GithubConfig {
    /// The OAuth app's client id.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
    /// Its registered callback URL. A `redirect_uri` must have the same
    /// scheme, host and port (any port for loopback hosts) and a path at or
    /// below this one, as GitHub documents.
    pub redirect_uri: String,
    /// Users who can sign in; the first does unless a test picks another
    /// (`sign_in_as`, or the `login` parameter of `/authorize`). Empty means one default.
    pub users: Vec<GithubUser>,
    /// `/authorize` answers `error=access_denied` (the user said no).
    pub deny_authorization: bool,
    /// API requests per token per hour (`x-ratelimit-limit`); past it, 403.
    pub rate_limit: u32,
    /// How many requests the journal keeps (the oldest go first).
    pub journal_capacity: usize,
}

impl Default for GithubConfig {
    fn default() -> Self {
        let mut octocat = GithubUser::new("octocat", 583_231);
        octocat.name = Some("The Octocat".to_owned());
        Self {
            client_id: "Iv1.fakegithubclient".to_owned(),
            client_secret: "fake-github-client-secret".to_owned(),
            redirect_uri: "http://127.0.0.1:3000/auth/github/callback".to_owned(),
            users: vec![octocat],
            deny_authorization: false,
            rate_limit: 5000,
            journal_capacity: 1000,
        }
    }
}
