//! The in-repo libSQL server over real HTTP: Hrana 3's pipeline with batons, transactions
//! that span requests, batches with conditions, authentication, and expired streams.

use std::time::Duration;

use chatcode_fakes::libsql::{self, LibsqlConfig};
use serde_json::{Value, json};

const TOKEN: &str = "t0ken";

fn pipeline(url: &str, token: &str, baton: Value, requests: Value) -> (u16, Value) {
    let response = reqwest::blocking::Client::new()
        .post(format!("{url}/v3/pipeline"))
        .bearer_auth(token)
        .json(&json!({ "baton": baton, "requests": requests }))
        .send()
        .expect("pipeline");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn execute(sql: &str, args: Value) -> Value {
    json!({ "type": "execute", "stmt": { "sql": sql, "args": args } })
}

#[test]
fn streams_keep_their_transaction_across_requests() {
    let dir = tempfile::tempdir().unwrap();
    let config = LibsqlConfig::new(dir.path().join("db.sqlite"), TOKEN);
    let (server, handle) = libsql::spawn(config);
    let url = server.url();
    assert!(
        reqwest::blocking::get(format!("{url}/v3"))
            .unwrap()
            .status()
            .is_success()
    );

    let (status, first) = pipeline(
        &url,
        TOKEN,
        Value::Null,
        json!([
            execute(
                "CREATE TABLE t (n INTEGER, s TEXT, b BLOB, f REAL)",
                json!([])
            ),
            execute("BEGIN", json!([]))
        ]),
    );
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["results"][0]["type"], "ok");
    let baton = first["baton"].clone();
    assert!(baton.is_string());
    assert_eq!(handle.open_streams(), 1);

    let row = json!([
        { "type": "integer", "value": "42" },
        { "type": "text", "value": "héllo" },
        { "type": "blob", "base64": "AAEC/w==" },
        { "type": "float", "value": 1.5 },
    ]);
    let (_, second) = pipeline(
        &url,
        TOKEN,
        baton.clone(),
        json!([execute("INSERT INTO t VALUES (?, ?, ?, ?)", row)]),
    );
    let inserted = &second["results"][0]["response"]["result"];
    assert_eq!(inserted["affected_row_count"], 1);
    assert_eq!(inserted["last_insert_rowid"], "1");
    // A spent baton is refused; the new one continues the stream.
    assert_eq!(pipeline(&url, TOKEN, baton, json!([])).0, 400);
    let baton = second["baton"].clone();

    // Another stream does not see the uncommitted row.
    let (_, other) = pipeline(
        &url,
        TOKEN,
        Value::Null,
        json!([execute("SELECT count(*) FROM t", json!([])), {"type": "close"}]),
    );
    assert_eq!(
        other["results"][0]["response"]["result"]["rows"][0][0]["value"],
        "0"
    );
    assert_eq!(other["baton"], Value::Null);

    let (_, third) = pipeline(
        &url,
        TOKEN,
        baton,
        json!([
            execute("COMMIT", json!([])),
            execute("SELECT n, s, b, f FROM t", json!([])),
            execute("SELECT * FROM missing", json!([])),
            { "type": "get_autocommit" },
            { "type": "close" },
        ]),
    );
    let read = &third["results"][1]["response"]["result"];
    assert_eq!(read["cols"][0]["name"], "n");
    assert_eq!(
        read["rows"][0],
        json!([
            { "type": "integer", "value": "42" },
            { "type": "text", "value": "héllo" },
            { "type": "blob", "base64": "AAEC/w==" },
            { "type": "float", "value": 1.5 },
        ])
    );
    assert_eq!(third["results"][2]["type"], "error");
    assert!(
        third["results"][2]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing")
    );
    assert_eq!(third["results"][3]["response"]["is_autocommit"], true);
    assert_eq!(third["baton"], Value::Null);
    assert_eq!(handle.open_streams(), 0);
}

#[test]
fn batches_follow_their_conditions() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = libsql::spawn(LibsqlConfig::new(dir.path().join("db.sqlite"), TOKEN));
    let stmt = |sql: &str| json!({ "sql": sql });
    let (status, answer) = pipeline(
        &server.url(),
        TOKEN,
        Value::Null,
        json!([{ "type": "batch", "batch": { "steps": [
            { "stmt": stmt("CREATE TABLE u (x)") },
            { "stmt": stmt("INSERT INTO nowhere VALUES (1)"), "condition": { "type": "ok", "step": 0 } },
            { "stmt": stmt("INSERT INTO u VALUES (1)"), "condition": { "type": "error", "step": 1 } },
            { "stmt": stmt("INSERT INTO u VALUES (2)"), "condition": { "type": "not", "cond": { "type": "error", "step": 1 } } },
        ] } }, { "type": "close" }]),
    );
    assert_eq!(status, 200);
    let result = &answer["results"][0]["response"]["result"];
    assert!(result["step_errors"][1].is_object());
    assert!(result["step_results"][2].is_object());
    assert!(result["step_results"][3].is_null());
}

#[test]
fn tokens_are_required_and_idle_streams_expire() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = LibsqlConfig::new(dir.path().join("db.sqlite"), TOKEN);
    config.stream_expiry = Duration::from_millis(200);
    let (server, handle) = libsql::spawn(config);
    let url = server.url();
    let (status, body) = pipeline(&url, "wrong", Value::Null, json!([]));
    assert_eq!(status, 401);
    assert!(body["message"].is_string());
    let (_, open) = pipeline(
        &url,
        TOKEN,
        Value::Null,
        json!([execute("SELECT 1", json!([]))]),
    );
    std::thread::sleep(Duration::from_millis(400));
    // Expired: the baton is no longer valid, and nothing is held.
    assert_eq!(
        pipeline(&url, TOKEN, open["baton"].clone(), json!([])).0,
        400
    );
    assert_eq!(handle.open_streams(), 0);
}
