//! DigitalOcean and GitHub sign-in through `chatcode up`, against the in-repo
//! fakes, with a browser that keeps its cookies and follows redirects itself.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::TcpListener,
    process::Command,
    thread,
    time::Duration,
};

use chatcode_core::crypto::TokenCipher;
use chatcode_fakes::{
    Fault,
    digitalocean::{self, DoConfig, DoEndpoint, DoHandle},
    github::{self, GithubConfig, GithubEndpoint, GithubHandle},
};
use chatcode_testkit::{Process, ensure_components_built};
use reqwest::blocking::Client;
use serde_json::{Value, json};

/// The app's public URL as the providers see it; the browser maps it to the real address.
const PUBLIC_URL: &str = "https://chatcode.test";
const KEY: &str = chatcode_testkit::TEST_ENCRYPTION_KEY;

struct Setup {
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    app: Process,
    do_fake: (chatcode_fakes::FakeServer, DoHandle),
    gh_fake: (chatcode_fakes::FakeServer, GithubHandle),
}

impl Setup {
    fn new() -> Self {
        Self::with(|_| {})
    }

    fn with(adjust: impl FnOnce(&mut Command)) -> Self {
        ensure_components_built();
        let do_fake = digitalocean::spawn(DoConfig {
            redirect_uri: format!("{PUBLIC_URL}/auth/do/callback"),
            ..DoConfig::default()
        });
        let gh_fake = github::spawn(GithubConfig {
            redirect_uri: format!("{PUBLIC_URL}/api/auth/github/callback"),
            ..GithubConfig::default()
        });
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut command =
            chatcode_testkit::chatcode_up(env!("CARGO_BIN_EXE_chatcode"), &data, "development");
        command
            .env("SPIN_VARIABLE_DO_CLIENT_ID", "fake-do-client-id")
            .env("SPIN_VARIABLE_DO_CLIENT_SECRET", "fake-do-client-secret")
            .env("SPIN_VARIABLE_DO_OAUTH_BASE", do_fake.0.url())
            .env("SPIN_VARIABLE_GITHUB_CLIENT_ID", "Iv1.fakegithubclient")
            .env(
                "SPIN_VARIABLE_GITHUB_CLIENT_SECRET",
                "fake-github-client-secret",
            )
            .env("SPIN_VARIABLE_GITHUB_OAUTH_BASE", gh_fake.0.url())
            .env("SPIN_VARIABLE_GITHUB_API_BASE", gh_fake.0.url());
        adjust(&mut command);
        let app = Process::start(command).unwrap();
        Self {
            _dir: dir,
            data,
            app,
            do_fake,
            gh_fake,
        }
    }

    fn browser(&self) -> Browser<'_> {
        Browser {
            app: &self.app,
            jar: BTreeMap::new(),
            http: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.data.join("sqlite_db.db")).unwrap()
    }

    fn count(&self, table: &str) -> i64 {
        self.db()
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }
}

/// A browser: a cookie jar, and redirects followed one at a time.
struct Browser<'a> {
    app: &'a Process,
    jar: BTreeMap<String, String>,
    http: Client,
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: Value,
}

impl Answer {
    /// Asserts a JSON error with `status` whose message mentions `words`.
    fn assert_error(&self, status: u16, words: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let message = self.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{words:?} not in {}", self.body);
    }
}

impl Browser<'_> {
    /// Requests an absolute URL; the app's public URL goes to the real app.
    fn request(&mut self, method: &str, url: &str, body: Option<Value>) -> Answer {
        let url = match url.strip_prefix(PUBLIC_URL) {
            Some(path) => self.app.url(path),
            None if url.starts_with('/') => self.app.url(url),
            None => url.to_string(),
        };
        let mut request = self.http.request(method.parse().unwrap(), &url);
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header("cookie", cookies.join("; "));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().unwrap();
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_string(), value.to_string());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        let body = response.json().unwrap_or(Value::Null);
        Answer {
            status,
            location,
            body,
        }
    }

    fn get(&mut self, url: &str) -> Answer {
        self.request("GET", url, None)
    }

    /// Starts a sign-in at `start` and returns the provider's redirect back to the app.
    fn authorize(&mut self, start: &str) -> String {
        let to_provider = self.get(start);
        assert_eq!(to_provider.status, 302, "{}", to_provider.body);
        let back = self.get(&to_provider.location.unwrap());
        assert_eq!(
            back.status, 302,
            "the provider's authorize page did not redirect"
        );
        back.location.unwrap()
    }

    /// A whole sign-in: the callback's answer.
    fn sign_in(&mut self, start: &str) -> Answer {
        let callback = self.authorize(start);
        self.get(&callback)
    }

    fn me(&mut self) -> Answer {
        self.get("/api/me")
    }
}

fn cipher() -> TokenCipher {
    TokenCipher::from_base64_key(KEY).unwrap()
}

#[test]
fn digitalocean_sign_in_creates_the_user_and_stores_tokens_encrypted() {
    let s = Setup::new();
    let mut browser = s.browser();
    let callback = browser.sign_in("/auth/do");
    assert_eq!(callback.status, 302, "{}", callback.body);
    assert_eq!(callback.location.as_deref(), Some("/dashboard"));
    assert!(browser.jar.contains_key("chatcode_session"));

    let me = browser.me();
    assert_eq!(me.status, 200, "{}", me.body);
    let connection = &me.body["providers"]["digitalocean"];
    assert_eq!(connection["email"], "sammy@example.com");
    assert!(connection["team_uuid"].is_string(), "{}", me.body);
    assert!(!me.body.to_string().contains("token"));

    // PKCE and scopes as DigitalOcean documents them.
    let authorize = &s.do_fake.1.traffic().requests_to(DoEndpoint::Authorize)[0];
    assert_eq!(authorize.param("scope").as_deref(), Some("read write"));
    assert_eq!(
        authorize.param("code_challenge_method").as_deref(),
        Some("S256")
    );
    let exchange = &s.do_fake.1.traffic().requests_to(DoEndpoint::Token)[0];
    assert!(exchange.param("code_verifier").is_some());
    // A complete body goes with its length, never chunked.
    assert_eq!(
        exchange.header("content-length"),
        Some(exchange.body.len().to_string().as_str())
    );
    assert_eq!(exchange.header("transfer-encoding"), None);

    // Stored encrypted, bound to the user, and it is a live token.
    let user_id = me.body["id"].as_str().unwrap().to_string();
    let (access, refresh): (String, String) = s
        .db()
        .query_row(
            "SELECT access_token_encrypted, refresh_token_encrypted FROM do_connections WHERE user_id = ?",
            [&user_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let access = cipher()
        .open(&access, &format!("do_access_token:{user_id}"))
        .unwrap();
    let refresh = cipher()
        .open(&refresh, &format!("do_refresh_token:{user_id}"))
        .unwrap();
    assert!(s.do_fake.1.token_is_valid(&access));
    assert!(s.do_fake.1.refresh_token_is_valid(&refresh));

    // Signing in again with the same account finds the same user.
    let mut other = s.browser();
    assert_eq!(other.sign_in("/auth/do").status, 302);
    assert_eq!(other.me().body["id"], user_id.as_str());
    assert_eq!(s.count("users"), 1);
}

#[test]
fn a_signed_in_user_connects_digitalocean_to_their_account() {
    let s = Setup::new();
    let mut browser = s.browser();
    let login = browser.request(
        "POST",
        "/auth/dev/login",
        Some(json!({ "username": "alice" })),
    );
    assert_eq!(login.status, 200);
    let session = browser.jar["chatcode_session"].clone();
    assert_eq!(browser.sign_in("/auth/do").status, 302);
    assert_eq!(
        browser.jar["chatcode_session"], session,
        "the session is kept"
    );
    assert!(
        !browser.jar.contains_key("chatcode_oauth"),
        "the spent nonce is cleared"
    );
    let me = browser.me().body;
    assert_eq!(me["id"], login.body["id"]);
    assert_eq!(
        me["providers"]["digitalocean"]["email"],
        "sammy@example.com"
    );
    assert_eq!(s.count("users"), 1);
}

#[test]
fn bad_states_are_refused_and_nothing_is_stored() {
    let s = Setup::new();
    let mut browser = s.browser();

    let missing = browser.get("/auth/do/callback?code=abc");
    assert_eq!(missing.status, 400);
    assert_eq!(missing.body["error"]["code"], "bad_request");

    let unknown =
        browser.get("/auth/do/callback?code=abc&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    unknown.assert_error(400, "unknown");

    // Another browser presents a real state: refused, and the state is spent.
    let callback = browser.authorize("/auth/do");
    let mut thief = s.browser();
    let stolen = thief.get(&callback);
    stolen.assert_error(400, "another browser");
    assert_eq!(browser.get(&callback).status, 400, "a state is single use");

    // Reused after success.
    let callback = browser.authorize("/auth/do");
    assert_eq!(browser.get(&callback).status, 302);
    let replay = browser.get(&callback);
    assert_eq!(replay.status, 400);

    // A state for one provider cannot finish the other.
    let callback = browser.authorize("/api/auth/github/start");
    let crossed = callback.replace("/api/auth/github/callback", "/auth/do/callback");
    assert_eq!(browser.get(&crossed).status, 400);

    // The user cancelled at the provider.
    s.do_fake.1.set_deny(true);
    let cancelled = browser.sign_in("/auth/do");
    cancelled.assert_error(400, "cancelled");

    assert_eq!(
        s.do_fake.1.traffic().calls(DoEndpoint::Token),
        1,
        "only the good callback exchanged a code"
    );
    assert_eq!(s.count("do_connections"), 1);
}

#[test]
fn an_expired_state_is_refused() {
    let s = Setup::new();
    let mut browser = s.browser();
    let callback = browser.authorize("/auth/do");
    chatcode_testkit::expire_key_value_record(&s.data, "oauth_state:");
    let expired = browser.get(&callback);
    expired.assert_error(400, "expired");
    assert_eq!(s.do_fake.1.traffic().calls(DoEndpoint::Token), 0);
    assert_eq!(s.count("users"), 0);
}

#[test]
fn provider_failures_answer_502_and_store_nothing() {
    let s = Setup::new();
    let mut browser = s.browser();
    for status in [400, 401, 500] {
        s.do_fake
            .1
            .traffic()
            .fail_next(DoEndpoint::Token, 1, Fault::Status(status));
        let answer = browser.sign_in("/auth/do");
        answer.assert_error(502, "DigitalOcean");
        assert_eq!(answer.body["error"]["code"], "bad_gateway");
    }
    s.do_fake
        .1
        .traffic()
        .fail_next(DoEndpoint::Token, 1, Fault::Hang(Duration::from_secs(30)));
    let answer = browser.sign_in("/auth/do");
    answer.assert_error(502, "in time");

    s.gh_fake
        .1
        .traffic()
        .fail_next(GithubEndpoint::User, 1, Fault::Status(401));
    assert_eq!(browser.sign_in("/api/auth/github/start").status, 502);
    s.gh_fake
        .1
        .traffic()
        .fail_next(GithubEndpoint::AccessToken, 1, Fault::Status(500));
    assert_eq!(browser.sign_in("/api/auth/github/start").status, 502);

    assert_eq!(s.count("users"), 0);
    assert_eq!(s.count("do_connections"), 0);
    assert_eq!(s.count("persistent_sessions"), 0);
    assert!(!browser.jar.contains_key("chatcode_session"));
}

/// A server answering every request with 200 and a body that is not JSON.
fn garbage_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 8192];
            let _ = stream.read(&mut buf);
            let body = "{\"access_token\": oops";
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    format!("http://{addr}")
}

#[test]
fn malformed_provider_json_answers_502() {
    let garbage = garbage_server();
    let s = Setup::with(|command| {
        command.env("SPIN_VARIABLE_GITHUB_API_BASE", &garbage);
    });
    let mut browser = s.browser();
    let answer = browser.sign_in("/api/auth/github/start");
    answer.assert_error(502, "JSON");
    assert_eq!(s.count("users"), 0);
}

#[test]
fn disconnect_revokes_at_digitalocean_and_forgets_the_tokens() {
    let s = Setup::new();
    let mut browser = s.browser();
    assert_eq!(
        browser.request("POST", "/auth/do/disconnect", None).status,
        401
    );
    assert_eq!(browser.sign_in("/auth/do").status, 302);
    let user_id = browser.me().body["id"].as_str().unwrap().to_string();
    let sealed: String = s
        .db()
        .query_row(
            "SELECT access_token_encrypted FROM do_connections",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let token = cipher()
        .open(&sealed, &format!("do_access_token:{user_id}"))
        .unwrap();

    s.do_fake
        .1
        .traffic()
        .fail_next(DoEndpoint::Revoke, 1, Fault::Status(500));
    assert_eq!(
        browser.request("POST", "/auth/do/disconnect", None).status,
        502
    );
    assert_eq!(s.count("do_connections"), 1, "kept so the user can retry");

    assert_eq!(
        browser.request("POST", "/auth/do/disconnect", None).status,
        204
    );
    assert!(!s.do_fake.1.token_is_valid(&token));
    assert_eq!(s.count("do_connections"), 0);
    assert_eq!(browser.me().body["providers"]["digitalocean"], Value::Null);
    assert_eq!(
        browser.request("POST", "/auth/do/disconnect", None).status,
        404
    );
}

#[test]
fn github_sign_in_upserts_the_user_with_their_verified_email() {
    let s = Setup::new();
    let mut browser = s.browser();
    let answer = browser.sign_in("/api/auth/github/start");
    assert_eq!(answer.status, 302, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some("/dashboard"));
    let me = browser.me().body;
    assert_eq!(me["username"], "octocat");
    assert_eq!(me["providers"]["github"]["username"], "octocat");
    assert_eq!(
        me["emails"],
        json!([{ "email": "octocat@example.com", "verified": true }])
    );

    let authorize = &s.gh_fake.1.traffic().requests_to(GithubEndpoint::Authorize)[0];
    assert_eq!(
        authorize.param("scope").as_deref(),
        Some("read:user user:email")
    );
    assert_eq!(
        authorize.param("code_challenge_method").as_deref(),
        Some("S256")
    );
    let exchange = &s
        .gh_fake
        .1
        .traffic()
        .requests_to(GithubEndpoint::AccessToken)[0];
    assert_eq!(exchange.header("accept"), Some("application/json"));
    assert_eq!(exchange.header("transfer-encoding"), None);
    assert!(exchange.header("content-length").is_some());
    assert!(
        s.gh_fake.1.traffic().requests_to(GithubEndpoint::User)[0]
            .header("user-agent")
            .is_some()
    );

    let user_id = me["id"].as_str().unwrap().to_string();
    let sealed: String = s
        .db()
        .query_row(
            "SELECT github_access_token_encrypted FROM users WHERE id = ?",
            [&user_id],
            |r| r.get(0),
        )
        .unwrap();
    let token = cipher()
        .open(&sealed, &format!("github_token:{user_id}"))
        .unwrap();
    assert!(s.gh_fake.1.token_is_valid(&token));

    let mut again = s.browser();
    again.sign_in("/api/auth/github/start");
    assert_eq!(again.me().body["id"], user_id.as_str());
    assert_eq!(s.count("users"), 1);
}

#[test]
fn github_errors_sent_with_http_200_are_refused() {
    let s = Setup::with(|command| {
        command.env("SPIN_VARIABLE_GITHUB_CLIENT_SECRET", "wrong-secret");
    });
    let mut browser = s.browser();
    let answer = browser.sign_in("/api/auth/github/start");
    answer.assert_error(502, "incorrect_client_credentials");
    assert_eq!(s.count("users"), 0);
}

#[test]
fn unconfigured_sign_in_is_reported() {
    let s = Setup::with(|command| {
        command.env("SPIN_VARIABLE_DO_CLIENT_ID", "");
    });
    let answer = s.browser().get("/auth/do");
    answer.assert_error(503, "not configured");
}
