//! The hub over TLS: the `chatcode-hub` binary with `--tls-cert`/`--tls-key` (or their
//! environment variables) serves HTTPS and gateway sockets over `wss://`, on a self-signed
//! certificate made here. Durations are hang guards, never assertions.

use std::{
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    path::PathBuf,
    process::{Child, ChildStderr, Command, Output, Stdio},
    sync::{Arc, mpsc},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{CertificateDer, ServerName},
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::{TlsConnector, client::TlsStream};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, protocol::frame::coding::CloseCode},
};

/// Only so a broken hub fails the test instead of hanging it.
const HANG_GUARD: Duration = Duration::from_secs(60);
const HUB_SECRET: &str = "tls-test-hub-secret";
const GATEWAY_ID: &str = "gw-tls";
const GATEWAY_TOKEN: &str = "gateway-token-tls";

/// A self-signed certificate for `localhost`, written as PEM files.
struct Cert {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    der: CertificateDer<'static>,
}

impl Cert {
    fn new() -> Self {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, generated.cert.pem()).unwrap();
        std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
        Self {
            der: generated.cert.der().clone(),
            _dir: dir,
            cert,
            key,
        }
    }

    /// A client that trusts only this certificate.
    fn connector(&self) -> TlsConnector {
        let mut roots = RootCertStore::empty();
        roots.add(self.der.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    }

    async fn connect(&self, addr: SocketAddr) -> TlsStream<TcpStream> {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        guard(self.connector().connect(name, tcp)).await.unwrap()
    }
}

async fn guard<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(HANG_GUARD, future)
        .await
        .expect("hang guard")
}

/// The `chatcode-hub` binary on `127.0.0.1:0`, without TLS settings from the environment.
fn hub_command(app: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chatcode-hub"));
    command
        .args(["--listen", "127.0.0.1:0", "--app-url", app])
        .args(["--hub-secret", HUB_SECRET])
        .env_remove("CHATCODE_HUB_TLS_CERT")
        .env_remove("CHATCODE_HUB_TLS_KEY")
        .env_remove("HUB_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn with_tls(mut command: Command, cert: &Cert) -> Command {
    command
        .arg("--tls-cert")
        .arg(&cert.cert)
        .arg("--tls-key")
        .arg(&cert.key);
    command
}

/// A running hub binary, killed on drop.
struct Hub {
    child: Child,
    addr: SocketAddr,
}

impl Hub {
    /// Starts `command` and waits for its `Hub listening on https://ADDR` line.
    fn start(mut command: Command) -> Self {
        let mut child = command.spawn().expect("starting chatcode-hub");
        let stderr = drain(child.stderr.take().unwrap());
        let lines = lines(child.stdout.take().unwrap());
        let deadline = Instant::now() + HANG_GUARD;
        let line = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line.starts_with("Hub listening on ") => break line,
                Ok(_) => {}
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "the hub never said where it listens: {}",
                        stderr.join().unwrap()
                    );
                }
            }
        };
        let addr = line
            .strip_prefix("Hub listening on https://")
            .unwrap_or_else(|| panic!("not an https address: {line}"))
            .parse()
            .unwrap();
        Self { child, addr }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(stdout: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

fn drain(mut stderr: ChildStderr) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    })
}

/// Runs `command` to its end.
fn run(mut command: Command) -> Output {
    let mut child = command.spawn().expect("starting chatcode-hub");
    let deadline = Instant::now() + HANG_GUARD;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the hub kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A stand-in for the app's internal routes: it knows one gateway, as the real app answers
/// `POST /internal/gateways/auth` (200 with the owner, else 401).
async fn stand_in_app() -> String {
    let app = Router::new()
        .route("/internal/gateways/auth", post(auth))
        .route("/internal/gateways/{id}/events", post(accepted))
        .route("/internal/sweep", post(accepted));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn from_hub(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {HUB_SECRET}"))
}

async fn auth(headers: HeaderMap, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let known = body["gateway_id"] == GATEWAY_ID && body["token"] == GATEWAY_TOKEN;
    if !from_hub(&headers) || !known {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "unauthorized" })),
        );
    }
    let owner = json!({ "vps_id": "vps-tls", "user_id": "user-tls" });
    (StatusCode::OK, Json(owner))
}

async fn accepted(headers: HeaderMap) -> StatusCode {
    if from_hub(&headers) {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

/// `GET path` over TLS: the status and the JSON body.
async fn get(cert: &Cert, addr: SocketAddr, path: &str) -> (u16, Value) {
    let mut tls = cert.connect(addr).await;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    guard(tls.read_to_end(&mut response)).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A gateway's socket over `wss://`, upgraded.
async fn gateway(cert: &Cert, addr: SocketAddr) -> WebSocketStream<TlsStream<TcpStream>> {
    let tls = cert.connect(addr).await;
    let url = format!("wss://localhost:{}/gw/connect", addr.port());
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "authorization",
        format!("Bearer {GATEWAY_TOKEN}").parse().unwrap(),
    );
    headers.insert("x-gateway-id", GATEWAY_ID.parse().unwrap());
    let (socket, response) = guard(tokio_tungstenite::client_async(request, tls))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    socket
}

/// Pings and waits for the pong: the socket is open and the hub reads it.
async fn ping(socket: &mut WebSocketStream<TlsStream<TcpStream>>) {
    socket
        .send(Message::Ping(Bytes::from_static(b"still there?")))
        .await
        .unwrap();
    loop {
        match guard(socket.next()).await {
            Some(Ok(Message::Pong(_))) => return,
            Some(Ok(Message::Close(frame))) => panic!("the hub closed the gateway: {frame:?}"),
            Some(Ok(_)) => {}
            other => panic!("the gateway socket ended: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_over_https() {
    let cert = Cert::new();
    let hub = Hub::start(with_tls(hub_command("http://127.0.0.1:9"), &cert));
    let (status, body) = get(&cert, hub.addr, "/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_turns_tls_on_too() {
    let cert = Cert::new();
    let mut command = hub_command("http://127.0.0.1:9");
    command
        .env("CHATCODE_HUB_TLS_CERT", &cert.cert)
        .env("CHATCODE_HUB_TLS_KEY", &cert.key);
    let hub = Hub::start(command);
    assert_eq!(get(&cert, hub.addr, "/healthz").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_upgrades_over_wss_and_stays_open() {
    let cert = Cert::new();
    let app = stand_in_app().await;
    let hub = Hub::start(with_tls(hub_command(&app), &cert));
    let mut socket = gateway(&cert, hub.addr).await;
    ping(&mut socket).await;
    let (_, health) = get(&cert, hub.addr, "/healthz").await;
    assert_eq!(health["gateways"], 1, "{health}");
    ping(&mut socket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_gets_no_answer_and_tls_goes_on() {
    let cert = Cert::new();
    let hub = Hub::start(with_tls(hub_command("http://127.0.0.1:9"), &cert));
    let mut tcp = TcpStream::connect(hub.addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    // The hub hangs up (maybe after a TLS alert, maybe with a reset): either ends the read.
    let _ = guard(tcp.read_to_end(&mut answer)).await;
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");
    assert_eq!(get(&cert, hub.addr, "/healthz").await.0, 200);
}

#[test]
fn a_certificate_needs_a_key_and_back() {
    let cert = Cert::new();
    for (given, missing) in [("--tls-cert", "--tls-key"), ("--tls-key", "--tls-cert")] {
        let mut command = hub_command("http://127.0.0.1:9");
        command.arg(given).arg(&cert.cert);
        let output = run(command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{given} alone was accepted");
        assert!(stderr.contains(missing), "{given} alone: {stderr}");
    }
}

#[test]
fn a_certificate_file_without_a_certificate_is_named() {
    let cert = Cert::new();
    let empty = cert.cert.with_file_name("empty.pem");
    std::fs::write(&empty, "no certificate here\n").unwrap();
    let mut command = hub_command("http://127.0.0.1:9");
    command
        .arg("--tls-cert")
        .arg(&empty)
        .arg("--tls-key")
        .arg(&cert.key);
    let output = run(command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("no certificate in {}", empty.display())),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "it said it listens");
}

/// SIGTERM: the binary closes a `wss://` gateway with 1001, flushed before it exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_wss_gateways_with_going_away() {
    let cert = Cert::new();
    let app = stand_in_app().await;
    let mut hub = Hub::start(with_tls(hub_command(&app), &cert));
    let mut socket = gateway(&cert, hub.addr).await;
    ping(&mut socket).await;
    let signalled = Command::new("kill")
        .args(["-TERM", &hub.child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let exited = tokio::task::block_in_place(|| hub.child.wait()).unwrap();
    assert!(exited.success(), "{exited}");
    loop {
        match guard(socket.next()).await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::Away);
                return;
            }
            Some(Ok(Message::Close(None))) => panic!("a close without a code"),
            Some(Ok(_)) => {}
            other => panic!("the socket ended without a close: {other:?}"),
        }
    }
}
