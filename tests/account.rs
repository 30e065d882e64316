//! The account component through `chatcode up`, with the DigitalOcean and GitHub fakes: API
//! keys as Bearer credentials (shown once, never listed, dead once revoked), settings, CORS on
//! `/api/*`, and deleting an account: resumable after a DigitalOcean failure, and leaving no
//! droplet, token, login or key behind.

use std::time::Duration;

use chatcode_core::crypto::TokenCipher;
use chatcode_fakes::{
    FakeServer, Fault,
    digitalocean::{self, DoConfig, DoEndpoint, DoHandle},
    github::{self, GithubConfig, GithubHandle},
};
use chatcode_testkit::{Browser, Process, TEST_ENCRYPTION_KEY, client, ensure_components_built};
use serde_json::{Value, json};

const ORIGIN: &str = "https://console.example.com";

struct Setup {
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    app: Process,
    _do: FakeServer,
    fake: DoHandle,
    _gh: FakeServer,
    github: GithubHandle,
}

impl Setup {
    fn new() -> Self {
        ensure_components_built();
        let (do_server, fake) = digitalocean::spawn(DoConfig::default());
        let (gh_server, github) = github::spawn(GithubConfig::default());
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut command =
            chatcode_testkit::chatcode_up(env!("CARGO_BIN_EXE_chatcode"), &data, "development");
        chatcode_testkit::use_digitalocean_fake(&mut command, &do_server.url())
            .env(
                "SPIN_VARIABLE_GITHUB_CLIENT_ID",
                GithubConfig::default().client_id,
            )
            .env(
                "SPIN_VARIABLE_GITHUB_CLIENT_SECRET",
                GithubConfig::default().client_secret,
            )
            .env("SPIN_VARIABLE_GITHUB_OAUTH_BASE", gh_server.url())
            .env("SPIN_VARIABLE_GITHUB_API_BASE", gh_server.url())
            .env("SPIN_VARIABLE_CORS_ALLOWED_ORIGINS", ORIGIN);
        let app = Process::start(command).unwrap();
        Self {
            _dir: dir,
            data,
            app,
            _do: do_server,
            fake,
            _gh: gh_server,
            github,
        }
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.data.join("sqlite_db.db")).unwrap()
    }

    fn count(&self, sql: &str, user_id: &str) -> i64 {
        self.db().query_row(sql, [user_id], |r| r.get(0)).unwrap()
    }

    /// A user with DigitalOcean connected and a GitHub grant, as the sign-ins store them.
    fn user(&self, username: &str) -> (Browser<'_>, String, String, String) {
        let mut browser = Browser::new(&self.app);
        let user_id = browser.login(username)["id"].as_str().unwrap().to_owned();
        let account = DoConfig::default().accounts[0].uuid.clone();
        let tokens = self.fake.issue_token(&account, "read write").unwrap();
        chatcode_testkit::connect_digitalocean(
            &self.data,
            &user_id,
            &account,
            &tokens.access_token,
            &tokens.refresh_token,
        );
        let login = GithubConfig::default().users[0].login.clone();
        let github_token = self.github.issue_token(&login, &["read:user"]).unwrap();
        let sealed = TokenCipher::from_base64_key(TEST_ENCRYPTION_KEY)
            .unwrap()
            .seal(&github_token, &format!("github_token:{user_id}"));
        self.db()
            .execute(
                "UPDATE users SET github_access_token_encrypted = ?, github_username = ? WHERE id = ?",
                (sealed, &login, &user_id),
            )
            .unwrap();
        (browser, user_id, tokens.access_token, github_token)
    }
}

/// A request with a Bearer key and no cookie.
fn with_key(app: &Process, method: &str, path: &str, key: &str) -> (u16, Value) {
    let response = client()
        .request(method.parse().unwrap(), app.url(path))
        .bearer_auth(key)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

#[test]
fn api_keys_sign_in_as_bearer_and_die_when_revoked() {
    let setup = Setup::new();
    let mut alice = Browser::new(&setup.app);
    let alice_id = alice.login("alice")["id"].as_str().unwrap().to_owned();

    let (status, created) = alice.send(
        "POST",
        "/api/account/api-key",
        Some(json!({"name": "  laptop  "})),
    );
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    let prefix = created["prefix"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&prefix) && key.starts_with("cck_"));
    assert_eq!(created["name"], "laptop");
    assert!(created["id"].as_str().unwrap().starts_with("akey-"));
    assert!(created["created_at"].is_i64());

    // The key is the user on every user route, with the same ownership rules.
    let (status, me) = with_key(&setup.app, "GET", "/api/me", &key);
    assert_eq!((status, me["id"].as_str()), (200, Some(alice_id.as_str())));
    assert_eq!(with_key(&setup.app, "GET", "/vps", &key).0, 200);
    assert_eq!(with_key(&setup.app, "GET", "/api/account", &key).0, 200);
    assert_eq!(
        with_key(&setup.app, "GET", "/vps/vps-nobodyhasthisid00000", &key).0,
        404
    );

    // Listed by prefix, name and dates: never the key, never its hash.
    let (status, list) = alice.send("GET", "/api/account/api-keys", None);
    assert_eq!(status, 200);
    let listed = &list["api_keys"][0];
    assert_eq!(listed["prefix"], prefix.as_str());
    assert!(listed["last_used_at"].is_i64(), "{list}");
    let text = list.to_string();
    assert!(
        !text.contains(&key) && !text.contains(&key[prefix.len()..]),
        "{text}"
    );
    let stored: String = setup
        .db()
        .query_row(
            "SELECT key_hash FROM api_keys WHERE user_id = ?",
            [&alice_id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!stored.contains(&key[prefix.len() + 1..]));

    // Another user cannot see or revoke it; alice can, and it stops at once.
    let mut bob = Browser::new(&setup.app);
    bob.login("bob");
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        bob.send("GET", "/api/account/api-keys", None).1["api_keys"],
        json!([])
    );
    assert_eq!(
        bob.send("DELETE", &format!("/api/account/api-keys/{id}"), None)
            .0,
        404
    );
    assert_eq!(with_key(&setup.app, "GET", "/api/me", &key).0, 200);
    assert_eq!(
        alice
            .send("DELETE", &format!("/api/account/api-keys/{id}"), None)
            .0,
        204
    );
    assert_eq!(with_key(&setup.app, "GET", "/api/me", &key).0, 401);
    assert_eq!(with_key(&setup.app, "GET", "/vps", &key).0, 401);
    assert_eq!(
        alice
            .send("DELETE", &format!("/api/account/api-keys/{id}"), None)
            .0,
        404
    );

    // Garbage keys and bad names are refused plainly.
    assert_eq!(
        with_key(&setup.app, "GET", "/api/me", "cck_nonsense").0,
        401
    );
    let (status, body) = alice.send("POST", "/api/account/api-key", Some(json!({"name": ""})));
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"]["name"].is_string());
    assert_eq!(
        alice
            .send("POST", "/api/account/api-key", Some(json!({"nom": "x"})))
            .0,
        400
    );
}

#[test]
fn settings_change_what_is_editable_and_cors_names_only_listed_origins() {
    let setup = Setup::new();
    let mut alice = Browser::new(&setup.app);
    alice.login("alice");
    let mut bob = Browser::new(&setup.app);
    bob.login("bob");

    let (status, settings) = alice.send("GET", "/api/account", None);
    assert_eq!(status, 200);
    assert_eq!(settings["username"], "alice");
    assert_eq!(settings["low_balance_threshold"], 20000);
    assert!(settings["created_at"].is_i64());
    let (status, changed) = alice.send(
        "PATCH",
        "/api/account",
        Some(json!({"email": "alice@example.com", "low_balance_threshold": 500, "username": "alice2"})),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (
            &changed["email"],
            &changed["low_balance_threshold"],
            &changed["username"]
        ),
        (&json!("alice@example.com"), &json!(500), &json!("alice2"))
    );
    let (status, taken) = bob.send("PATCH", "/api/account", Some(json!({"username": "alice2"})));
    assert_eq!(status, 409, "{taken}");
    let (status, bad) = bob.send(
        "PATCH",
        "/api/account",
        Some(json!({"email": "nope", "low_balance_threshold": -5})),
    );
    assert_eq!(status, 422);
    assert!(
        bad["error"]["fields"]["email"].is_string()
            && bad["error"]["fields"]["low_balance_threshold"].is_string()
    );
    assert_eq!(bob.send("PUT", "/api/account", None).0, 405);
    assert_eq!(
        Browser::new(&setup.app).send("GET", "/api/account", None).0,
        401
    );

    // CORS: a listed origin gets its headers and credentials, an unlisted one nothing.
    let cors = |origin: &str, method: &str| {
        client()
            .request(method.parse().unwrap(), setup.app.url("/api/account"))
            .header("origin", origin)
            .header("access-control-request-method", "PATCH")
            .send()
            .unwrap()
    };
    let header = |r: &reqwest::blocking::Response, name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let preflight = cors(ORIGIN, "OPTIONS");
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        header(&preflight, "access-control-allow-origin").as_deref(),
        Some(ORIGIN)
    );
    assert_eq!(
        header(&preflight, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    assert!(
        header(&preflight, "access-control-allow-methods")
            .unwrap()
            .contains("PATCH")
    );
    let simple = cors(ORIGIN, "GET");
    assert_eq!(simple.status(), 401);
    assert_eq!(
        header(&simple, "access-control-allow-origin").as_deref(),
        Some(ORIGIN)
    );
    for method in ["OPTIONS", "GET"] {
        let refused = cors("https://evil.example.com", method);
        assert_eq!(header(&refused, "access-control-allow-origin"), None);
        assert_eq!(header(&refused, "access-control-allow-credentials"), None);
        assert_eq!(header(&refused, "access-control-allow-methods"), None);
    }
}

#[test]
fn deleting_an_account_leaves_nothing_and_finishes_after_a_failure() {
    let setup = Setup::new();
    let (mut alice, user_id, do_token, github_token) = setup.user("alice");
    let (_, key) = alice.send("POST", "/api/account/api-key", Some(json!({"name": "ci"})));
    let key = key["key"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let (status, body) = alice.send(
            "POST",
            "/vps",
            Some(json!({"region": "ams3", "size": "s-1vcpu-1gb"})),
        );
        assert_eq!(status, 201, "{body}");
    }
    setup
        .db()
        .execute(
            "INSERT INTO usage_events (id, user_id, event_type, credits_used, created_at) \
             VALUES ('use-1', ?, 'usage', 7, 1)",
            [&user_id],
        )
        .unwrap();
    assert_eq!(setup.fake.droplets().len(), 2);

    // The typed name must match.
    let (status, body) = alice.send(
        "POST",
        "/api/account/delete",
        Some(json!({"confirm": "bob"})),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(setup.fake.droplets().len(), 2);

    // DigitalOcean fails on the second droplet: one VPS is gone, the other whole. (A fault
    // queue is in call order: the first delete is answered on time, the second with a 500.)
    let traffic = setup.fake.traffic();
    traffic.fail_next(DoEndpoint::DeleteDroplet, 1, Fault::Late(Duration::ZERO));
    traffic.fail_next(DoEndpoint::DeleteDroplet, 1, Fault::Status(500));
    let (status, body) = alice.send(
        "POST",
        "/api/account/delete",
        Some(json!({"confirm": "alice"})),
    );
    assert_eq!(status, 502, "{body}");
    assert_eq!(setup.fake.droplets().len(), 1);
    assert_eq!(
        setup.count("SELECT count(*) FROM vps WHERE user_id = ?", &user_id),
        1,
        "the VPS rows match the droplets that still exist"
    );
    assert_eq!(
        with_key(&setup.app, "GET", "/api/me", &key).0,
        200,
        "nothing else is gone yet"
    );

    // Calling again finishes the job.
    let response = alice.request(
        "POST",
        "/api/account/delete",
        Some(json!({"confirm": "alice"})),
    );
    assert_eq!(
        response.status(),
        200,
        "{}",
        std::fs::read_to_string(setup.data.join("logs/account_stderr.txt")).unwrap_or_default()
    );
    assert!(setup.fake.droplets().is_empty());
    assert!(
        !setup.fake.token_is_valid(&do_token),
        "the DigitalOcean token is revoked"
    );
    assert!(
        !setup.github.token_is_valid(&github_token),
        "the GitHub grant is revoked"
    );
    for (table, sql) in [
        ("vps", "SELECT count(*) FROM vps WHERE user_id = ?"),
        (
            "do_connections",
            "SELECT count(*) FROM do_connections WHERE user_id = ?",
        ),
        (
            "persistent_sessions",
            "SELECT count(*) FROM persistent_sessions WHERE user_id = ?",
        ),
        (
            "api_keys",
            "SELECT count(*) FROM api_keys WHERE user_id = ?",
        ),
        (
            "tokens",
            "SELECT count(*) FROM users WHERE id = ? AND (github_access_token_encrypted IS NOT NULL \
             OR username IS NOT NULL OR email IS NOT NULL OR github_username IS NOT NULL)",
        ),
    ] {
        assert_eq!(setup.count(sql, &user_id), 0, "{table} left behind");
    }
    assert_eq!(
        setup.count(
            "SELECT count(*) FROM users WHERE id = ? AND deleted_at IS NOT NULL",
            &user_id
        ),
        1
    );
    assert_eq!(
        setup.count(
            "SELECT count(*) FROM usage_events WHERE user_id = ?",
            &user_id
        ),
        1,
        "ledger rows are kept"
    );
    assert_eq!(alice.send("GET", "/api/me", None).0, 401);
    assert_eq!(with_key(&setup.app, "GET", "/api/me", &key).0, 401);
    // The name is free again.
    let mut again = Browser::new(&setup.app);
    assert_ne!(again.login("alice")["id"], json!(user_id));
}
