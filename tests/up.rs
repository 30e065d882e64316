//! `chatcode up` end to end: build, development secrets, migrations, restart.

use std::{path::Path, process::Command};

use chatcode_testkit::{Process, client, ensure_components_built};
use serde_json::Value;

fn up(data: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chatcode"));
    command
        .current_dir(chatcode_testkit::workspace_root())
        .arg("up")
        // No --hub-listen: with --listen on port 0 the hub's own port is a free one too.
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(extra)
        .env_remove("SPIN_VARIABLE_ENVIRONMENT")
        .env_remove("SPIN_VARIABLE_HUB_SECRET")
        .env_remove("SPIN_VARIABLE_PUBLIC_URL")
        .env_remove("SPIN_VARIABLE_HUB_PUBLIC_URL")
        .env_remove("SPIN_VARIABLE_GATEWAY_TOKEN_SALT")
        .env_remove("SPIN_VARIABLE_TOKEN_ENCRYPTION_KEY");
    command
}

fn dev_hub_secret(data: &Path) -> String {
    let text = std::fs::read_to_string(data.join("dev-secrets.json")).unwrap();
    let secrets: Value = serde_json::from_str(&text).unwrap();
    secrets["hub_secret"].as_str().unwrap().to_string()
}

fn migrate(app: &Process, bearer: Option<&str>) -> (u16, Value) {
    let mut request = client().post(app.url("/internal/migrate"));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

#[test]
fn up_builds_migrates_and_serves_health() {
    ensure_components_built();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = Process::start(up(&data, &[])).unwrap();

    let health: Value = client()
        .get(app.url("/healthz"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["app"], "chatcode");
    assert_eq!(health["schema_version"], 3, "{health}");
    assert_eq!(health["environment"], "development", "{health}");
    assert_eq!(health["sqlite"], "ok");
    assert_eq!(health["key_value"], "ok");

    // The launcher already applied everything: a second run is a no-op.
    let secret = dev_hub_secret(&data);
    let (status, body) = migrate(&app, Some(&secret));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["applied"], serde_json::json!([]));
    assert_eq!(body["schema_version"], 3);

    // The data folder is a Spin state directory.
    assert!(data.join("sqlite_db.db").is_file());
    assert!(data.join("sqlite_key_value.db").is_file());
    assert!(data.join("logs/platform_stderr.txt").is_file());
}

/// The hub's own address, from the `Hub listening on http://ADDR` line that follows
/// `Serving`.
fn hub_addr(app: &Process) -> String {
    for _ in 0..200 {
        let output = app.output();
        if let Some(addr) = output
            .lines()
            .find_map(|line| line.strip_prefix("Hub listening on http://"))
        {
            return addr.trim().to_owned();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!(
        "chatcode up never named the hub's address:\n{}",
        app.output()
    );
}

#[test]
fn two_instances_on_port_0_each_get_a_free_hub_port() {
    ensure_components_built();
    let dir = tempfile::tempdir().unwrap();
    let first = Process::start(up(&dir.path().join("one"), &[])).unwrap();
    let second = Process::start(up(&dir.path().join("two"), &[])).unwrap();
    let hubs = [hub_addr(&first), hub_addr(&second)];
    assert_ne!(hubs[0], hubs[1]);
    for hub in hubs {
        assert!(!hub.ends_with(":3001"), "{hub}");
        let health: Value = client()
            .get(format!("http://{hub}/healthz"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(health["status"], "ok");
    }
}

#[test]
fn migrate_refuses_missing_or_wrong_secrets() {
    ensure_components_built();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = Process::start(up(&data, &["--no-build"])).unwrap();
    for bearer in [None, Some("wrong"), Some("")] {
        let (status, body) = migrate(&app, bearer);
        assert_eq!(status, 401, "{bearer:?}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    }
}

#[test]
fn migrations_and_secrets_survive_a_restart() {
    ensure_components_built();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = Process::start(up(&data, &["--no-build"])).unwrap();
    let secret = dev_hub_secret(&data);
    assert_eq!(app.stop().unwrap(), Some(0));

    let app = Process::start(up(&data, &["--no-build"])).unwrap();
    assert_eq!(
        dev_hub_secret(&data),
        secret,
        "the development secret changed"
    );
    let (status, body) = migrate(&app, Some(&secret));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["applied"], serde_json::json!([]));
    let health: Value = client()
        .get(app.url("/healthz"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["schema_version"], 3);
}

#[test]
fn production_requires_real_secrets() {
    ensure_components_built();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_, output) =
        Process::run_to_failure(up(&data, &["--no-build", "--environment", "production"])).unwrap();
    assert!(
        output.contains("required variable '") && output.contains("' has no value"),
        "{output}"
    );
    assert!(!data.join("dev-secrets.json").exists());

    let mut command = up(&data, &["--no-build", "--environment", "production"]);
    command
        .env("SPIN_VARIABLE_HUB_SECRET", "a-production-secret")
        .env("SPIN_VARIABLE_PUBLIC_URL", "https://chatcode.example.com")
        .env(
            "SPIN_VARIABLE_TOKEN_ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .env(
            "SPIN_VARIABLE_HUB_PUBLIC_URL",
            "https://hub.chatcode.example.com",
        )
        .env("SPIN_VARIABLE_GATEWAY_TOKEN_SALT", "a-production-salt");
    let app = Process::start(command).unwrap();
    let health: Value = client()
        .get(app.url("/healthz"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["environment"], "production");
    let (status, _) = migrate(&app, Some("a-production-secret"));
    assert_eq!(status, 200);
}
