//! chatcode-kit's DigitalOcean token refresh on the real runtime, against the
//! DigitalOcean fake (run through the probe fixture's `/probe/do-refresh`).

use std::{path::PathBuf, process::Command};

use chatcode_core::{crypto::TokenCipher, migrations::split_statements};
use chatcode_fakes::{
    Fault,
    digitalocean::{self, DoConfig, DoEndpoint},
};
use chatcode_testkit::{
    Process, client, ensure_components_built, shared_cache_dir, workspace_root,
    write_probe_manifest,
};
use serde_json::{Value, json};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const USER: &str = "usr-refreshtest0000000000";

struct Setup {
    _dir: tempfile::TempDir,
    app: Process,
}

fn start(do_url: &str) -> Setup {
    ensure_components_built();
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_probe_manifest(dir.path()).unwrap();
    let data: PathBuf = dir.path().join("data");
    let mut command = Command::new(env!("CARGO_BIN_EXE_chatcode-runtime"));
    command
        .arg("--from")
        .arg(&manifest)
        .arg("--data-dir")
        .arg(&data)
        .arg("--cache-dir")
        .arg(shared_cache_dir())
        .args(["--listen", "127.0.0.1:0"])
        .args(["--variable", "secret_thing=x"])
        .args(["--variable", &format!("do_oauth_base={do_url}")])
        .args(["--variable", "do_client_id=fake-do-client-id"])
        .args(["--variable", "do_client_secret=fake-do-client-secret"])
        .args(["--variable", &format!("token_encryption_key={KEY}")]);
    let app = Process::start(command).unwrap();
    let schema =
        std::fs::read_to_string(workspace_root().join("migrations/0001_initial.sql")).unwrap();
    for statement in split_statements(&schema) {
        sql(&app, &statement, json!([]));
    }
    sql(
        &app,
        "INSERT INTO users (id, created_at) VALUES (?, 0)",
        json!([USER]),
    );
    Setup { _dir: dir, app }
}

fn sql(app: &Process, statement: &str, params: Value) -> Value {
    let response = client()
        .post(app.url("/probe/sql"))
        .json(&json!({ "sql": statement, "params": params }))
        .send()
        .unwrap();
    let status = response.status();
    let body: Value = response.json().unwrap();
    assert_eq!(status, 200, "{statement}: {body}");
    body
}

fn connect(app: &Process, access: &str, refresh: &str) {
    let cipher = TokenCipher::from_base64_key(KEY).unwrap();
    sql(
        app,
        "INSERT INTO do_connections (user_id, do_account_uuid, access_token_encrypted, \
         refresh_token_encrypted, expires_at, created_at, updated_at) VALUES (?, 'uuid-1', ?, ?, 0, 0, 0)",
        json!([
            USER,
            cipher.seal(access, &format!("do_access_token:{USER}")),
            cipher.seal(refresh, &format!("do_refresh_token:{USER}"))
        ]),
    );
}

fn refresh(app: &Process, user: &str) -> (u16, Value) {
    let response = client()
        .post(app.url(&format!("/probe/do-refresh/{user}")))
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

#[test]
fn refresh_stores_a_new_working_pair() {
    let (fake, handle) = digitalocean::spawn(DoConfig::default());
    let uuid = DoConfig::default().accounts[0].uuid.clone();
    let tokens = handle.issue_token(&uuid, "read write").unwrap();
    let s = start(&fake.url());
    connect(&s.app, &tokens.access_token, &tokens.refresh_token);

    let (status, body) = refresh(&s.app, USER);
    assert_eq!(status, 200, "{body}");
    let fresh = body["access_token"].as_str().unwrap().to_string();
    assert_ne!(fresh, tokens.access_token);
    assert!(handle.token_is_valid(&fresh));
    assert!(
        !handle.refresh_token_is_valid(&tokens.refresh_token),
        "the old refresh token is spent"
    );
    let request = &handle.traffic().requests_to(DoEndpoint::Token)[0];
    assert_eq!(
        request.param("grant_type").as_deref(),
        Some("refresh_token")
    );

    // The stored pair is the new one, sealed.
    let row = sql(
        &s.app,
        "SELECT access_token_encrypted, refresh_token_encrypted FROM do_connections WHERE user_id = ?",
        json!([USER]),
    );
    let cipher = TokenCipher::from_base64_key(KEY).unwrap();
    let stored_access = cipher
        .open(
            row["rows"][0][0].as_str().unwrap(),
            &format!("do_access_token:{USER}"),
        )
        .unwrap();
    let stored_refresh = cipher
        .open(
            row["rows"][0][1].as_str().unwrap(),
            &format!("do_refresh_token:{USER}"),
        )
        .unwrap();
    assert_eq!(stored_access, fresh);
    assert!(handle.refresh_token_is_valid(&stored_refresh));

    // And it refreshes again from what it stored.
    let (status, again) = refresh(&s.app, USER);
    assert_eq!(status, 200, "{again}");
    assert_ne!(again["access_token"], body["access_token"]);
}

#[test]
fn refresh_failures_are_reported_and_keep_the_stored_pair() {
    let (fake, handle) = digitalocean::spawn(DoConfig::default());
    let s = start(&fake.url());

    let (status, body) = refresh(&s.app, USER);
    assert_eq!(status, 409, "not connected: {body}");

    connect(&s.app, "dead-access-token", "dead-refresh-token");
    let (status, body) = refresh(&s.app, USER);
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connect DigitalOcean again")
    );

    handle
        .traffic()
        .fail_next(DoEndpoint::Token, 1, Fault::Status(500));
    let (status, body) = refresh(&s.app, USER);
    assert_eq!(status, 502, "{body}");
    let row = sql(&s.app, "SELECT COUNT(*) FROM do_connections", json!([]));
    assert_eq!(row["rows"][0][0], 1);
}
