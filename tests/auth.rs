//! The auth component through `chatcode up`: development login, sessions,
//! `/api/me`, sign-out, with a browser-like client that keeps its cookies.

use std::path::Path;

use chatcode_testkit::{Browser, Process, client, ensure_components_built, session_cookie};
use serde_json::{Value, json};

fn up(data: &Path, environment: &str) -> Process {
    ensure_components_built();
    Process::start(chatcode_testkit::chatcode_up(
        env!("CARGO_BIN_EXE_chatcode"),
        data,
        environment,
    ))
    .unwrap()
}

#[test]
fn development_login_sets_a_session_cookie_with_the_right_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let app = up(&dir.path().join("data"), "development");
    let response = client()
        .post(app.url("/auth/dev/login"))
        .json(&json!({ "username": "alice" }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = session_cookie(&response).expect("a session cookie");
    let attributes: Vec<&str> = cookie.split("; ").collect();
    let token = attributes[0].strip_prefix("chatcode_session=").unwrap();
    assert_eq!(token.len(), 43, "32 random bytes, base64url");
    for expected in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(
            attributes.contains(&expected),
            "{expected} missing from {cookie}"
        );
    }
    assert!(
        !attributes.contains(&"Secure"),
        "development cookies work over http"
    );
    let body: Value = response.json().unwrap();
    assert_eq!(body["username"], "alice");
    assert!(body["id"].as_str().unwrap().starts_with("usr-"));
}

#[test]
fn me_shows_the_signed_in_user_and_refuses_everyone_else() {
    let dir = tempfile::tempdir().unwrap();
    let app = up(&dir.path().join("data"), "development");
    let mut alice = Browser::new(&app);
    let login = alice.login("alice");
    let (status, me) = alice.send("GET", "/api/me", None);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], login["id"]);
    assert_eq!(me["username"], "alice");
    assert_eq!(me["emails"], json!([]));
    assert_eq!(
        me["providers"],
        json!({ "github": null, "digitalocean": null })
    );
    assert!(!me.to_string().contains("token"), "{me}");

    // The same username finds the same user.
    let mut again = Browser::new(&app);
    assert_eq!(again.login("alice")["id"], login["id"]);

    let mut stranger = Browser::new(&app);
    let (status, body) = stranger.send("GET", "/api/me", None);
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    stranger.cookie = Some("chatcode_session=forged-token-value".into());
    assert_eq!(stranger.send("GET", "/api/me", None).0, 401);
}

#[test]
fn logout_ends_one_session_and_logout_all_ends_every_one() {
    let dir = tempfile::tempdir().unwrap();
    let app = up(&dir.path().join("data"), "development");
    let (mut laptop, mut phone, mut tablet) =
        (Browser::new(&app), Browser::new(&app), Browser::new(&app));
    laptop.login("bob");
    phone.login("bob");
    tablet.login("bob");

    let kept = laptop.cookie.clone();
    assert_eq!(laptop.send("POST", "/api/auth/logout", None).0, 204);
    assert_eq!(laptop.cookie, None, "the cookie is cleared");
    laptop.cookie = kept;
    assert_eq!(
        laptop.send("GET", "/api/me", None).0,
        401,
        "the old token is dead"
    );
    assert_eq!(phone.send("GET", "/api/me", None).0, 200);

    assert_eq!(phone.send("POST", "/api/auth/logout-all", None).0, 204);
    assert_eq!(tablet.send("GET", "/api/me", None).0, 401);
    assert_eq!(phone.send("POST", "/api/auth/logout-all", None).0, 401);
    // Signing out without a session is harmless.
    assert_eq!(
        Browser::new(&app).send("POST", "/api/auth/logout", None).0,
        204
    );
}

#[test]
fn tokens_are_stored_only_as_hashes_and_expired_sessions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = up(&data, "development");
    let mut carol = Browser::new(&app);
    carol.login("carol");
    let token = carol
        .cookie
        .clone()
        .unwrap()
        .trim_start_matches("chatcode_session=")
        .to_string();

    let keys = chatcode_testkit::key_value_keys(&data, "session:");
    assert_eq!(keys.len(), 1);
    assert!(!keys[0].contains(&token));
    let db = rusqlite::Connection::open(data.join("sqlite_db.db")).unwrap();
    let hash: String = db
        .query_row("SELECT token_hash FROM persistent_sessions", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_ne!(hash, token);
    assert_eq!(keys[0], format!("session:{hash}"));

    // Spin's key-value has no TTL: expiry is in the record, checked on read.
    assert_eq!(
        chatcode_testkit::expire_key_value_record(&data, "session:"),
        keys[0]
    );
    assert_eq!(carol.send("GET", "/api/me", None).0, 401);
    assert_eq!(
        chatcode_testkit::key_value_keys(&data, "session:"),
        Vec::<String>::new(),
        "the expired record is deleted when read"
    );
    let rows: i64 = db
        .query_row("SELECT COUNT(*) FROM persistent_sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
}

#[test]
fn development_login_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let app = up(&dir.path().join("data"), "development");
    let http = client();
    let post = |body: Vec<u8>| {
        let r = http
            .post(app.url("/auth/dev/login"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json::<Value>().unwrap_or(Value::Null))
    };
    let (status, body) = post(br#"{"username": "-bad-"}"#.to_vec());
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "unprocessable");
    assert_eq!(post(b"not json".to_vec()).0, 400);
    assert_eq!(post(br#"{"name": "x"}"#.to_vec()).0, 400);
    assert_eq!(post(vec![b' '; 8 * 1024]).0, 413);
    let (status, body) = post(Vec::new());
    assert_eq!(status, 400, "{body}");
    let get = http.get(app.url("/auth/dev/login")).send().unwrap();
    assert_eq!(get.status(), 405);
    let unknown = http.get(app.url("/auth/nope")).send().unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.json::<Value>().unwrap()["error"]["code"],
        "not_found"
    );
}

#[test]
fn development_login_does_not_exist_in_production() {
    let dir = tempfile::tempdir().unwrap();
    let app = up(&dir.path().join("data"), "production");
    let response = client()
        .post(app.url("/auth/dev/login"))
        .json(&json!({ "username": "mallory" }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(session_cookie(&response).is_none());
    let body: Value = response.json().unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}
