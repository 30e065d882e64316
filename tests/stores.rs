//! The app's stores where Spin's runtime config puts them, through `chatcode up
//! --runtime-config-file`: the key-value store on a real `redis-server` (Debian's), the SQLite
//! database on a libSQL server. No libSQL server installs from this machine's registries, so
//! the database side runs against the in-repo server (`chatcode_fakes::libsql`: Hrana 3 over
//! HTTP, the documented protocol, over a real SQLite file). And the mistakes that stop
//! start-up, named, with no secret in the message.

use std::{path::Path, time::Duration};

use chatcode_fakes::{
    digitalocean::{self, DoConfig},
    libsql::{self, LibsqlConfig},
};
use chatcode_testkit::{
    Browser, Process, client, ensure_components_built, key_value_keys, redis::RedisServer,
};
use serde_json::json;

const LIBSQL_TOKEN: &str = "test-libsql-token-do-not-log";

/// Writes a runtime config where `chatcode_testkit` looks for one of the app at `data`.
fn write_config(data: &Path, text: &str) -> std::path::PathBuf {
    let path = data.with_extension("runtime-config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_app_runs_with_key_value_on_redis_and_sqlite_on_libsql() {
    ensure_components_built();
    let redis = RedisServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("libsql");
    std::fs::create_dir_all(&remote).unwrap();
    let (db_server, db) =
        libsql::spawn(LibsqlConfig::new(remote.join("sqlite_db.db"), LIBSQL_TOKEN));
    let (do_server, fake) = digitalocean::spawn(DoConfig::default());
    let data = dir.path().join("data");
    let config = write_config(
        &data,
        &format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n\n\
             [sqlite_database.default]\ntype = \"libsql\"\nurl = \"{}\"\ntoken = \"{LIBSQL_TOKEN}\"\n",
            redis.url(),
            db_server.url()
        ),
    );
    let mut command = chatcode_testkit::chatcode_up_with(
        env!("CARGO_BIN_EXE_chatcode"),
        &data,
        "development",
        Some(&config),
    );
    chatcode_testkit::use_digitalocean_fake(&mut command, &do_server.url());
    let app = Process::start(command).unwrap();

    // Migrations ran on libSQL; the local state folder holds no database.
    let health: serde_json::Value = client()
        .get(app.url("/healthz"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["sqlite"], "ok");
    assert_eq!(health["key_value"], "ok");
    assert!(health["schema_version"].as_u64().unwrap() >= 2, "{health}");
    assert!(!data.join("sqlite_db.db").exists());
    assert!(!data.join("sqlite_key_value.db").exists());

    // Sign in: the login lives in Redis, the user in the libSQL database.
    let mut alice = Browser::new(&app);
    let user_id = alice.login("alice")["id"].as_str().unwrap().to_owned();
    assert_eq!(key_value_keys(&data, "session:").len(), 1);
    let remote_db = rusqlite::Connection::open(remote.join("sqlite_db.db")).unwrap();
    let name: String = remote_db
        .query_row("SELECT username FROM users WHERE id = ?", [&user_id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(name, "alice");

    // Transactions across statements (an API key is made in one), and DigitalOcean.
    let (status, key) = alice.send("POST", "/api/account/api-key", Some(json!({"name": "ci"})));
    assert_eq!(status, 201, "{key}");
    let account = DoConfig::default().accounts[0].uuid.clone();
    let tokens = fake.issue_token(&account, "read write").unwrap();
    chatcode_testkit::connect_digitalocean(
        &remote,
        &user_id,
        &account,
        &tokens.access_token,
        &tokens.refresh_token,
    );
    let (status, created) = alice.send(
        "POST",
        "/vps",
        Some(json!({"region": "ams3", "size": "s-1vcpu-1gb"})),
    );
    assert_eq!(status, 201, "{created}");
    let (status, options) = alice.send("GET", "/vps/options", None);
    assert_eq!(status, 200, "{options}");
    assert_eq!(key_value_keys(&data, "do_catalog").len(), 1);
    let (status, list) = alice.send("GET", "/vps", None);
    assert_eq!(
        (status, list["vps"].as_array().map(Vec::len)),
        (200, Some(1))
    );

    // Signing out deletes the login from Redis.
    assert_eq!(alice.send("POST", "/api/auth/logout", None).0, 204);
    assert!(key_value_keys(&data, "session:").is_empty());

    // Every stream the requests opened is closed again.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while db.open_streams() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(db.open_streams(), 0, "libSQL streams left open");

    // Nothing secret reached the log.
    let log = app.output();
    assert!(!log.contains(LIBSQL_TOKEN), "{log}");
}

#[test]
fn mistakes_stop_start_up_with_a_message_and_no_secret() {
    ensure_components_built();
    let dir = tempfile::tempdir().unwrap();
    let (db_server, _db) = libsql::spawn(LibsqlConfig::new(
        dir.path().join("remote.db"),
        LIBSQL_TOKEN,
    ));
    let cases = [
        (
            "[key_value_store.default]\ntype = \"memcached\"\n".to_owned(),
            vec!["key_value_store.default", "memcached"],
        ),
        (
            "[key_value_store.default]\ntype = \"redis\"\n".to_owned(),
            vec!["missing field", "url"],
        ),
        (
            // Nothing listens on port 1.
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://:hunter2@127.0.0.1:1\"\n"
                .to_owned(),
            vec!["unreachable", "redis://127.0.0.1:1"],
        ),
        (
            format!(
                "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"{}\"\ntoken = \"hunter2\"\n",
                db_server.url()
            ),
            vec!["libSQL", "401"],
        ),
        (
            "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"https://db.example\"\n"
                .to_owned(),
            vec!["missing field", "token"],
        ),
    ];
    for (index, (text, words)) in cases.iter().enumerate() {
        let data = dir.path().join(format!("data-{index}"));
        let config = write_config(&data, text);
        let command = chatcode_testkit::chatcode_up_with(
            env!("CARGO_BIN_EXE_chatcode"),
            &data,
            "development",
            Some(&config),
        );
        let (code, output) = Process::run_to_failure(command).unwrap();
        assert_ne!(code, 0);
        for word in words {
            assert!(
                output.contains(word),
                "case {index}: {word:?} not in:\n{output}"
            );
        }
        assert!(
            !output.contains("hunter2"),
            "case {index} leaked a secret:\n{output}"
        );
    }
}
