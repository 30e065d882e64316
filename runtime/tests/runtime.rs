//! The runtime binary serving real `.wasm` components, checked over HTTP the
//! way `spin up` would answer.

use std::{
    io::{Read, Write},
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use chatcode_testkit::{
    Process, client, ensure_components_built, shared_cache_dir, write_probe_manifest,
};
use serde_json::Value;

struct Probe {
    _dir: tempfile::TempDir,
    data: PathBuf,
    manifest: PathBuf,
}

impl Probe {
    fn new() -> Self {
        ensure_components_built();
        let dir = tempfile::tempdir().unwrap();
        let manifest = write_probe_manifest(dir.path()).unwrap();
        let data = dir.path().join("data");
        Self {
            _dir: dir,
            data,
            manifest,
        }
    }

    fn command(&self, extra: &[&str]) -> Command {
        runtime_command(&self.manifest, &self.data, extra)
    }

    fn start(&self, extra: &[&str]) -> Process {
        let mut args = vec!["--variable", "secret_thing=s3cret"];
        args.extend_from_slice(extra);
        Process::start(self.command(&args)).unwrap()
    }
}

fn runtime_command(manifest: &Path, data: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chatcode-runtime"));
    command
        .arg("--from")
        .arg(manifest)
        .arg("--data-dir")
        .arg(data)
        .arg("--cache-dir")
        .arg(shared_cache_dir())
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .env_remove("SPIN_VARIABLE_SECRET_THING")
        .env("RUST_LOG", "info");
    command
}

fn get_json(url: &str) -> (u16, Value) {
    let response = client().get(url).send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// Has the probe GET `url` through outbound `wasi:http`: its status and JSON answer.
fn outbound(app: &Process, url: &str) -> (u16, Value) {
    let r = client()
        .get(app.url("/probe/outbound"))
        .query(&[("url", url)])
        .send()
        .unwrap();
    (r.status().as_u16(), r.json::<Value>().unwrap())
}

#[test]
fn serves_the_platform_health_check_from_the_real_wasm() {
    ensure_components_built();
    let dir = tempfile::tempdir().unwrap();
    let manifest = chatcode_testkit::workspace_root().join("spin.toml");
    let app = Process::start(runtime_command(
        &manifest,
        dir.path(),
        &[
            "--variable",
            "hub_secret=test-secret",
            "--variable",
            "public_url=http://127.0.0.1",
            "--variable",
            "token_encryption_key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "--variable",
            "hub_public_url=http://127.0.0.1",
            "--variable",
            "gateway_token_salt=test-salt",
            "--variable",
            "hub_url=http://127.0.0.1:9",
        ],
    ))
    .unwrap();
    let (status, body) = get_json(&app.url("/healthz"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["app"], "chatcode");
    assert_eq!(body["sqlite"], "ok");
    assert_eq!(body["key_value"], "ok");
}

#[test]
fn routes_and_headers_match_spin() {
    let probe = Probe::new();
    let app = probe.start(&[]);
    let headers = |path: &str| {
        let (status, body) = get_json(&app.url(path));
        assert_eq!(status, 200, "{path}: {body}");
        body["headers"].clone()
    };

    let h = headers("/exact");
    assert_eq!(h["spin-matched-route"], "/exact");
    assert_eq!(h["spin-path-info"], "");
    assert_eq!(h["spin-component-route"], "/exact");

    let h = headers("/wild/a/b?x=1");
    assert_eq!(h["spin-matched-route"], "/wild/...");
    assert_eq!(h["spin-raw-component-route"], "/wild/...");
    assert_eq!(h["spin-component-route"], "/wild");
    assert_eq!(h["spin-path-info"], "/a/b");
    assert_eq!(h["spin-base-path"], "/");
    assert_eq!(
        h["spin-full-url"],
        format!("http://{}/wild/a/b?x=1", app.addr())
    );
    assert!(
        h["spin-client-addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );

    // The longest wildcard prefix wins.
    assert_eq!(
        headers("/wild/deeper/x")["spin-matched-route"],
        "/wild/deeper/..."
    );

    let h = headers("/users/42/posts/7/");
    assert_eq!(h["spin-path-match-id"], "42");
    assert_eq!(h["spin-path-info"], "/7/");

    // No match, and the private component, answer 404 with an empty body.
    for path in ["/nowhere", "/", "/wil"] {
        let response = client().get(app.url(path)).send().unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(response.text().unwrap(), "", "{path}");
    }
}

#[test]
fn reserved_routes_answer_like_spin() {
    let probe = Probe::new();
    let app = probe.start(&[]);
    let response = client()
        .get(app.url("/.well-known/spin/health"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().unwrap(), "OK");
    let (status, info) = get_json(&app.url("/.well-known/spin/info"));
    assert_eq!(status, 200);
    assert_eq!(info["name"], "probe-app");
    assert_eq!(info["version"], "9.9.9");
}

#[test]
fn key_value_and_sqlite_persist_across_restarts() {
    let probe = Probe::new();
    let app = probe.start(&[]);
    let http = client();
    let put = http
        .put(app.url("/probe/kv/greeting"))
        .body("hi there")
        .send()
        .unwrap();
    assert_eq!(put.status(), 204);
    let sql = |app: &Process, sql: &str, params: Value| {
        let body = serde_json::json!({ "sql": sql, "params": params });
        let response = http.post(app.url("/probe/sql")).json(&body).send().unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().unwrap())
    };
    assert_eq!(
        sql(
            &app,
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",
            Value::Array(vec![])
        )
        .0,
        200
    );
    assert_eq!(
        sql(
            &app,
            "INSERT INTO notes (body) VALUES (?)",
            serde_json::json!(["kept"])
        )
        .0,
        200
    );
    app.stop().unwrap();

    let app = probe.start(&[]);
    let got = http.get(app.url("/probe/kv/greeting")).send().unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.text().unwrap(), "hi there");
    let (status, rows) = sql(&app, "SELECT body FROM notes", Value::Array(vec![]));
    assert_eq!(status, 200, "{rows}");
    assert_eq!(rows["rows"], serde_json::json!([["kept"]]));
    assert_eq!(
        http.get(app.url("/probe/kv/missing"))
            .send()
            .unwrap()
            .status(),
        404
    );

    // The files are Spin's, so the folder also works as `spin up --state-dir`.
    assert!(probe.data.join("sqlite_key_value.db").is_file());
    assert!(probe.data.join("sqlite_db.db").is_file());
    assert!(probe.data.join("logs/probe_stdout.txt").is_file());
}

#[test]
fn sql_errors_reach_the_guest() {
    let probe = Probe::new();
    let app = probe.start(&[]);
    let body = serde_json::json!({ "sql": "SELECT * FROM no_such_table", "params": [] });
    let response = client()
        .post(app.url("/probe/sql"))
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().unwrap();
    assert!(text.contains("no such table"), "{text}");
}

#[test]
fn stores_are_limited_to_what_the_manifest_lists() {
    let probe = Probe::new();
    let app = probe.start(&[]);
    let text = |path: &str| client().get(app.url(path)).send().unwrap().text().unwrap();
    assert_eq!(text("/probe/kv-open/default"), "ok");
    assert_eq!(text("/probe/kv-open/other"), "access-denied");
    assert_eq!(text("/probe/sql-open/default"), "ok");
    assert_eq!(text("/limited/probe/kv-open/default"), "access-denied");
    assert_eq!(text("/limited/probe/sql-open/default"), "access-denied");
}

#[test]
fn variables_resolve_templates_and_stay_per_component() {
    let probe = Probe::new();
    let app = probe.start(&["--variable", "greeting=bonjour"]);
    let get = |path: &str| {
        let r = client().get(app.url(path)).send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    assert_eq!(
        get("/probe/var/greeting"),
        (200, "bonjour, world".to_string())
    );
    assert_eq!(get("/probe/var/secret"), (200, "s3cret".to_string()));
    let (status, text) = get("/limited/probe/var/greeting");
    assert_eq!(status, 404);
    assert!(text.starts_with("undefined"), "{text}");
    let (status, text) = get("/probe/var/Bad-Name");
    assert_eq!(status, 404);
    assert!(text.starts_with("invalid-name"), "{text}");
}

#[test]
fn environment_variables_supply_spin_variables() {
    let probe = Probe::new();
    let mut command = probe.command(&[]);
    command.env("SPIN_VARIABLE_SECRET_THING", "from-env");
    let app = Process::start(command).unwrap();
    let text = client()
        .get(app.url("/probe/var/secret"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(text, "from-env");
}

/// A one-response HTTP server on port 0 that counts connections.
fn upstream(body: &'static str) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (port, hits)
}

/// An HTTP/1.1 server on port 0 that keeps connections open, counting connections and
/// requests.
fn keep_alive_upstream() -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let (accepted, served) = (connections.clone(), requests.clone());
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            accepted.fetch_add(1, Ordering::SeqCst);
            let served = served.clone();
            thread::spawn(move || {
                let mut pending = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        served.fetch_add(1, Ordering::SeqCst);
                        let reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                        if stream.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => pending.extend_from_slice(&buf[..n]),
                    }
                }
            });
        }
    });
    (port, connections, requests)
}

#[test]
fn outbound_connections_are_kept_alive() {
    let (port, connections, requests) = keep_alive_upstream();
    let probe = Probe::new();
    let upstream_var = format!("upstream=127.0.0.1:{port}");
    let app = probe.start(&["--variable", &upstream_var]);
    let url = format!("http://127.0.0.1:{port}/hello");
    // One client connection: its requests are served on one request thread, whose pool
    // keeps the upstream connection.
    let one_client = client();
    for _ in 0..3 {
        let r = one_client
            .get(app.url("/probe/outbound"))
            .query(&[("url", url.as_str())])
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.json::<Value>().unwrap()["body"], "ok");
        // Let the finished connection go back to the pool before the next request.
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(requests.load(Ordering::SeqCst), 3);
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "three requests from three instances share one connection"
    );
    // New client connections land on every request thread; each thread keeps its own
    // upstream connection, so there are never more than there are threads.
    for _ in 0..8 {
        let (status, body) = outbound(&app, &url);
        assert_eq!(status, 200, "{body}");
        thread::sleep(Duration::from_millis(20));
    }
    let threads = thread::available_parallelism().map_or(1, usize::from);
    assert_eq!(requests.load(Ordering::SeqCst), 11);
    assert!(
        connections.load(Ordering::SeqCst) <= threads.min(8),
        "{} upstream connections for {threads} request threads",
        connections.load(Ordering::SeqCst)
    );
}

/// A TLS server on port 0 with a self-signed certificate for `localhost`; counts the
/// handshakes that completed and those that failed.
fn self_signed_upstream() -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key =
        rustls::pki_types::PrivateKeyDer::try_from(generated.signing_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![generated.cert.der().clone()], key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let completed = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let (ok, refused) = (completed.clone(), failed.clone());
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut tls = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut shaken = Ok(());
            while tls.is_handshaking() && shaken.is_ok() {
                shaken = tls.complete_io(&mut stream).map(drop);
            }
            match shaken {
                Ok(()) => {
                    ok.fetch_add(1, Ordering::SeqCst);
                    let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                    let _ = rustls::Stream::new(&mut tls, &mut stream).write_all(reply);
                }
                Err(_) => {
                    refused.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    });
    (port, completed, failed)
}

#[test]
fn outbound_https_refuses_an_untrusted_certificate() {
    let (port, completed, failed) = self_signed_upstream();
    let probe = Probe::new();
    let allowed = format!("do_oauth_base=https://localhost:{port}");
    let app = probe.start(&["--variable", &allowed]);
    let (status, body) = outbound(&app, &format!("https://localhost:{port}/hello"));
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("TlsProtocolError"),
        "{body}"
    );
    // The server notes the failed handshake once it reads the client's alert.
    for _ in 0..250 {
        if failed.load(Ordering::SeqCst) > 0 {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        failed.load(Ordering::SeqCst),
        1,
        "no TLS handshake was tried"
    );
    assert_eq!(completed.load(Ordering::SeqCst), 0, "a handshake completed");
}

#[test]
fn outbound_http_is_limited_to_allowed_hosts() {
    let (allowed_port, allowed_hits) = upstream("from upstream");
    let (denied_port, denied_hits) = upstream("must not be reached");
    let probe = Probe::new();
    let upstream_var = format!("upstream=127.0.0.1:{allowed_port}");
    let app = probe.start(&["--variable", &upstream_var]);
    let (status, body) = outbound(&app, &format!("http://127.0.0.1:{allowed_port}/hello"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["body"], "from upstream");
    assert_eq!(allowed_hits.load(Ordering::SeqCst), 1);

    let (status, body) = outbound(&app, &format!("http://127.0.0.1:{denied_port}/hello"));
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("HttpRequestDenied"),
        "{body}"
    );
    thread::sleep(Duration::from_millis(100));
    assert_eq!(
        denied_hits.load(Ordering::SeqCst),
        0,
        "a denied request reached the network"
    );
    assert!(app.output().contains("denied"), "{}", app.output());
}

#[test]
fn every_request_gets_a_fresh_instance() {
    // Instances are made ahead of their requests, but each serves one request only.
    let probe = Probe::new();
    let app = probe.start(&[]);
    let http = client();
    for request in 1..=5 {
        let served = http.get(app.url("/probe/served")).send().unwrap();
        assert_eq!(served.status(), 200);
        assert_eq!(served.text().unwrap(), "1", "request {request}");
    }
    let trapped = http.get(app.url("/probe/trap")).send().unwrap();
    assert_eq!(trapped.status(), 500);
    let served = http.get(app.url("/probe/served")).send().unwrap();
    assert_eq!(served.text().unwrap(), "1", "after a trap");
}

#[test]
fn a_trap_fails_only_its_own_request() {
    let probe = Probe::new();
    let app = probe.start(&[]);
    let trapped = client().get(app.url("/probe/trap")).send().unwrap();
    assert_eq!(trapped.status(), 500);
    let ok = client().get(app.url("/probe/ok")).send().unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().unwrap(), "ok");
    assert!(app.output().contains("guest trapped"), "{}", app.output());
}

#[test]
fn requests_are_bounded_in_time_size_and_concurrency() {
    let probe = Probe::new();
    let app = probe.start(&[
        "--request-timeout",
        "3",
        "--max-instances",
        "1",
        "--max-body-bytes",
        "1024",
    ]);
    let http = client();

    let big = http
        .post(app.url("/probe/headers"))
        .body(vec![b'x'; 2048])
        .send()
        .unwrap();
    assert_eq!(big.status(), 413);
    let small = http
        .post(app.url("/probe/headers"))
        .body(vec![b'x'; 512])
        .send()
        .unwrap();
    assert_eq!(small.status(), 200);

    // One instance slot: while a request spins (until the 3 s limit), the next is refused with
    // 503. Asked for as long as the spinning request lasts, however slowly the machine runs.
    let url = app.url("/probe/spin");
    let spinning = thread::spawn(move || client().get(url).send().unwrap().status().as_u16());
    let mut saw_503 = false;
    while !spinning.is_finished() {
        thread::sleep(Duration::from_millis(20));
        if http.get(app.url("/probe/ok")).send().unwrap().status() == 503 {
            saw_503 = true;
            break;
        }
    }
    assert!(saw_503, "a second concurrent request was not refused");
    // The spinning guest is stopped by the time limit, and the slot freed: right after its
    // response has gone (the instance is torn down off the response's path), so the next
    // request may still meet the slot taken for a moment.
    assert_eq!(spinning.join().unwrap(), 500);
    let deadline = Instant::now() + Duration::from_secs(30);
    let freed = loop {
        let status = http.get(app.url("/probe/ok")).send().unwrap().status();
        if status != 503 || Instant::now() > deadline {
            break status;
        }
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(freed, 200);
}

#[test]
fn logs_each_request() {
    let probe = Probe::new();
    let app = probe.start(&[]);
    client().get(app.url("/probe/ok")).send().unwrap();
    thread::sleep(Duration::from_millis(100));
    let output = app.output();
    let line = output
        .lines()
        .find(|l| l.contains("path=\"/probe/ok\""))
        .unwrap_or_else(|| panic!("no request log line in:\n{output}"));
    for field in ["method=GET", "component=\"probe\"", "status=200", "micros="] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
}

#[test]
fn times_requests_only_when_the_log_asks() {
    let probe = Probe::new();
    let quiet = probe.start(&[]);
    client()
        .get(quiet.url("/probe/var/greeting"))
        .send()
        .unwrap();
    thread::sleep(Duration::from_millis(100));
    assert!(
        !quiet.output().contains("request timings"),
        "timed without being asked"
    );
    drop(quiet);

    let mut command = probe.command(&["--variable", "secret_thing=s3cret"]);
    command.env("RUST_LOG", "info,chatcode_runtime::timing=debug");
    let timed = Process::start(command).unwrap();
    let create = serde_json::json!({ "sql": "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, n INTEGER NOT NULL)" });
    client()
        .post(timed.url("/probe/sql"))
        .json(&create)
        .send()
        .unwrap();
    client().post(timed.url("/probe/bench/k")).send().unwrap();
    thread::sleep(Duration::from_millis(100));
    let output = timed.output();
    let line = output
        .lines()
        .find(|l| l.contains("request timings") && l.contains("path=\"/probe/bench/k\""))
        .unwrap_or_else(|| panic!("no timings for /probe/bench/k in:\n{output}"));
    for field in [
        "total_us=",
        "guest_us=",
        "guest_own_us=",
        "sqlite_calls=2",
        "outbound_calls=0",
    ] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
}

#[test]
fn a_missing_required_variable_stops_start_up() {
    let probe = Probe::new();
    let (code, output) = Process::run_to_failure(probe.command(&[])).unwrap();
    assert_ne!(code, 0);
    assert!(
        output.contains("required variable 'secret_thing' has no value"),
        "{output}"
    );
}

#[test]
fn a_malformed_manifest_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("spin.toml");
    std::fs::write(
        &manifest,
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\nroute = \"/a\"\ncomponent = \"missing\"\n",
    )
    .unwrap();
    let (_, output) =
        Process::run_to_failure(runtime_command(&manifest, &dir.path().join("d"), &[])).unwrap();
    assert!(output.contains("spin.toml:6:"), "{output}");
    assert!(output.contains("component 'missing'"), "{output}");

    std::fs::write(&manifest, "spin_manifest_version = 2\n[application\n").unwrap();
    let (_, output) =
        Process::run_to_failure(runtime_command(&manifest, &dir.path().join("d"), &[])).unwrap();
    assert!(output.contains("line 2"), "{output}");
}

#[test]
fn compiled_components_are_cached_on_disk() {
    ensure_components_built();
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_probe_manifest(dir.path()).unwrap();
    let data = dir.path().join("data");
    let mut command = Command::new(env!("CARGO_BIN_EXE_chatcode-runtime"));
    command
        .arg("--from")
        .arg(&manifest)
        .arg("--data-dir")
        .arg(&data)
        .args(["--listen", "127.0.0.1:0", "--variable", "secret_thing=x"]);
    Process::start(command).unwrap().stop().unwrap();
    let cached = walk(&data.join("cache"));
    assert!(
        !cached.is_empty(),
        "nothing was written to the compile cache"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn stops_cleanly_on_sigterm() {
    let probe = Probe::new();
    let app = probe.start(&[]);
    assert_eq!(
        client().get(app.url("/probe/ok")).send().unwrap().status(),
        200
    );
    assert_eq!(app.stop().unwrap(), Some(0));
}
