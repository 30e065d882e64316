//! What the hub's system tests share: the real app (`chatcode up`) with the DigitalOcean fake,
//! a hub on port 0, a VPS provisioned through the app, and raw WebSocket clients playing the
//! gateway and the browser at the protocol level.
// Each test crate that includes this module uses a different part of it.
#![allow(dead_code)]

use std::{net::SocketAddr, time::Duration};

use chatcode_core::{
    protocol::frame,
    ticket::{self, AttachTicket, Holder, Mode},
    time::now_ms,
};
use chatcode_fakes::{
    FakeServer,
    digitalocean::{self, DoConfig, DoHandle},
};
use chatcode_hub::{HubConfig, Timers};
use chatcode_testkit::{Process, ensure_components_built, gateway_env};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, protocol::CloseFrame},
};

pub const HUB_SECRET: &str = "test-hub-secret";
/// The sign-in the tickets of [`World::ticket`] name.
pub const TEST_LOGIN: &str = "test-login";
/// Longest a test waits for one message.
const WAIT: Duration = Duration::from_secs(60);

/// The app, the DigitalOcean fake and a hub, with one signed-in user who has a VPS.
pub struct World {
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    pub app: Process,
    _do_server: FakeServer,
    fake: DoHandle,
    hub: Hub,
    pub hub_addr: SocketAddr,
    pub cookie: String,
    pub user_id: String,
    pub vps: Vps,
}

/// The hub the app is paired with.
enum Hub {
    /// In the test's process, with the test's configuration.
    InProcess(chatcode_hub::Serving),
    /// `chatcode hub`, a process of its own (defaults).
    Process(Process),
    /// Stopped or crashed.
    Gone,
}

/// A VPS and its gateway's credentials, read from its cloud-init.
#[derive(Clone)]
pub struct Vps {
    pub id: String,
    pub gateway_id: String,
    pub token: String,
}

/// Signs attach tickets for one user's VPS, anywhere (it is `Send`).
#[derive(Clone)]
pub struct Tickets {
    user_id: String,
    vps: Vps,
}

impl Tickets {
    /// A fresh ticket for `session_id`.
    pub fn sign(&self, session_id: &str, mode: Mode) -> String {
        ticket::sign(
            &AttachTicket::new(
                Holder::new(&self.user_id, TEST_LOGIN),
                &self.vps.gateway_id,
                &self.vps.id,
                session_id,
                mode,
                now_ms(),
                60_000,
            ),
            HUB_SECRET,
        )
    }
}

/// Timers short enough for tests.
pub fn test_timers() -> Timers {
    Timers {
        gateway_grace: Duration::from_secs(2),
        relay_timeout: Duration::from_secs(2),
        event_flush: Duration::from_millis(20),
        ..Timers::default()
    }
}

/// Signs `username` in through the development login: its cookie and user id.
pub async fn login(app: &Process, username: &str) -> (String, String) {
    let login = reqwest::Client::new()
        .post(app.url("/auth/dev/login"))
        .json(&json!({ "username": username }))
        .send()
        .await
        .unwrap();
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    let profile: Value = login.json().await.unwrap();
    (cookie, profile["id"].as_str().unwrap().to_owned())
}

/// `chatcode hub` on `addr` for the app at `app_url`.
fn hub_process(addr: SocketAddr, app_url: &str) -> Process {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_chatcode"));
    command
        .args(["hub", "--listen", &addr.to_string(), "--app-url", app_url])
        .env("HUB_SECRET", HUB_SECRET);
    tokio::task::block_in_place(|| Process::start(command)).unwrap()
}

/// Another `chatcode hub` of the app at `app_url`, on a free port, sharing `redis_url` with
/// the other hubs (several hubs behind one address).
pub fn clustered_hub_process(app_url: &str, redis_url: &str) -> Process {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_chatcode"));
    command
        .args(["hub", "--listen", "127.0.0.1:0", "--app-url", app_url])
        .args(["--redis-url", redis_url])
        .env("HUB_SECRET", HUB_SECRET);
    tokio::task::block_in_place(|| Process::start(command)).unwrap()
}

impl World {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// A world whose hub runs in the test's process with `adjust`ed configuration.
    pub async fn with(adjust: impl FnOnce(&mut HubConfig)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hub_addr = listener.local_addr().unwrap();
        Self::build(hub_addr, |app_url| {
            let mut config = HubConfig::new(app_url, HUB_SECRET);
            config.timers = test_timers();
            adjust(&mut config);
            Hub::InProcess(chatcode_hub::serve(config, listener).unwrap())
        })
        .await
    }

    /// A world whose hub is `chatcode hub`, a process of its own that [`World::crash_hub`]
    /// kills and [`World::start_hub`] starts again on the same port.
    pub async fn with_hub_process() -> Self {
        let hub_addr = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        Self::build(hub_addr, |app_url| {
            Hub::Process(hub_process(hub_addr, app_url))
        })
        .await
    }

    async fn build(hub_addr: SocketAddr, start_hub: impl FnOnce(&str) -> Hub) -> Self {
        ensure_components_built();
        let (do_server, fake) = digitalocean::spawn(DoConfig::default());
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut command =
            chatcode_testkit::chatcode_up(env!("CARGO_BIN_EXE_chatcode"), &data, "development");
        chatcode_testkit::use_digitalocean_fake(&mut command, &do_server.url())
            .env("SPIN_VARIABLE_HUB_PUBLIC_URL", format!("http://{hub_addr}"))
            .env("SPIN_VARIABLE_HUB_URL", format!("http://{hub_addr}"));
        let app = tokio::task::block_in_place(|| Process::start(command)).unwrap();
        let hub = start_hub(&app.url(""));

        let (cookie, user_id) = login(&app, "alice").await;
        let uuid = DoConfig::default().accounts[0].uuid.clone();
        let tokens = fake.issue_token(&uuid, "read write").unwrap();
        chatcode_testkit::connect_digitalocean(
            &data,
            &user_id,
            &uuid,
            &tokens.access_token,
            &tokens.refresh_token,
        );
        let mut world = Self {
            _dir: dir,
            data,
            app,
            _do_server: do_server,
            fake,
            hub,
            hub_addr,
            cookie,
            user_id,
            vps: Vps {
                id: String::new(),
                gateway_id: String::new(),
                token: String::new(),
            },
        };
        world.vps = world.add_vps().await;
        world
    }

    /// Creates one more VPS of the user through the app; its gateway's credentials.
    pub async fn add_vps(&self) -> Vps {
        let (status, created) = self
            .call(
                Some(&self.cookie),
                "POST",
                "/vps",
                Some(json!({"region": "ams3", "size": "s-1vcpu-1gb"})),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let droplet = self
            .fake
            .droplet(created["droplet_id"].as_u64().unwrap())
            .unwrap();
        let env = gateway_env(droplet.user_data.as_deref().unwrap());
        assert_eq!(
            env["GATEWAY_CP_URL"],
            format!("ws://{}/gw/connect", self.hub_addr)
        );
        Vps {
            id: created["vps_id"].as_str().unwrap().to_owned(),
            gateway_id: env["GATEWAY_ID"].clone(),
            token: env["GATEWAY_AUTH_TOKEN"].clone(),
        }
    }

    /// The app's data folder.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data
    }

    /// Stops the hub (sockets closed with 1001), leaving the app running.
    pub async fn stop_hub(&mut self) {
        match std::mem::replace(&mut self.hub, Hub::Gone) {
            Hub::InProcess(serving) => serving.shutdown().await,
            Hub::Process(process) => {
                let _ = tokio::task::block_in_place(|| process.stop());
            }
            Hub::Gone => {}
        }
    }

    /// Kills the hub process at once (SIGKILL): a crash, sockets dropped unannounced.
    pub fn crash_hub(&mut self) {
        match std::mem::replace(&mut self.hub, Hub::Gone) {
            Hub::Process(process) => tokio::task::block_in_place(|| process.kill()),
            _ => panic!("only a hub process can crash"),
        }
    }

    /// Starts the hub process again where it was.
    pub fn start_hub(&mut self) {
        self.hub = Hub::Process(hub_process(self.hub_addr, &self.app.url("")));
    }

    /// Signs tickets for the user's VPS from anywhere.
    pub fn tickets(&self) -> Tickets {
        Tickets {
            user_id: self.user_id.clone(),
            vps: self.vps.clone(),
        }
    }

    /// The hub's `/metrics` text.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.hub_addr))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Sends a request to the app as `credential` (a login's `Cookie` header, or an API key
    /// `cck_…` sent as a bearer token) or as nobody: status and JSON body.
    pub async fn call(
        &self,
        credential: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request =
            reqwest::Client::new().request(method.parse().unwrap(), self.app.url(path));
        match credential {
            Some(key) if key.starts_with("cck_") => {
                request = request.header("authorization", format!("Bearer {key}"));
            }
            Some(cookie) => request = request.header("cookie", cookie),
            None => {}
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `GET /vps/:id` as the signed-in user.
    pub async fn vps_detail(&self) -> Value {
        reqwest::Client::new()
            .get(self.app.url(&format!("/vps/{}", self.vps.id)))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until the app's view of the VPS satisfies `check`.
    pub async fn wait_for_vps(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let detail = self.vps_detail().await;
            if check(&detail) {
                return detail;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "waiting for {what}: {detail}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The gateway dials in with its cloud-init credentials and says hello.
    pub async fn gateway(&self) -> RawGateway {
        let mut gateway = RawGateway::dial(self.hub_addr, &self.vps.gateway_id, &self.vps.token)
            .await
            .unwrap();
        gateway.hello(&self.vps.gateway_id).await;
        gateway.linked().await;
        gateway
    }

    /// A signed attach ticket for `session_id`.
    pub fn ticket(&self, session_id: &str, mode: Mode) -> String {
        self.tickets().sign(session_id, mode)
    }

    /// A browser attached to `session_id` with a fresh ticket.
    pub async fn browser(&self, session_id: &str, mode: Mode, last_seq: Option<u64>) -> Client {
        Client::attach(
            self.hub_addr,
            &self.vps.id,
            session_id,
            &self.ticket(session_id, mode),
            last_seq,
        )
        .await
        .unwrap()
    }

    /// Relays a command through the hub as the app does.
    pub async fn relay(&self, command: &Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!(
                "http://{}/internal/gateways/{}/commands",
                self.hub_addr, self.vps.gateway_id
            ))
            .bearer_auth(HUB_SECRET)
            .json(command)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// What a client read from its socket.
#[derive(Debug)]
pub enum Received {
    Json(Value),
    Frame { seq: u64, payload: Vec<u8> },
    Closed(Option<u16>),
}

/// A WebSocket client speaking the protocol's messages.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Messages read while waiting for something else, returned first by [`Client::next`].
    early: std::collections::VecDeque<Received>,
}

/// The gateway side: a client that dialled `/gw/connect`.
pub type RawGateway = Client;

impl Client {
    /// Dials `/gw/connect`; `Err` holds the HTTP status of a refused upgrade.
    pub async fn dial(hub: SocketAddr, gateway_id: &str, token: &str) -> Result<Self, u16> {
        let mut request = format!("ws://{hub}/gw/connect")
            .into_client_request()
            .unwrap();
        let headers = request.headers_mut();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        headers.insert("x-gateway-id", gateway_id.parse().unwrap());
        Self::open(request).await
    }

    /// Opens a browser terminal; `Err` holds the HTTP status of a refused upgrade.
    pub async fn attach(
        hub: SocketAddr,
        vps_id: &str,
        session_id: &str,
        ticket: &str,
        last_seq: Option<u64>,
    ) -> Result<Self, u16> {
        Self::open(terminal_url(hub, vps_id, session_id, ticket, last_seq)).await
    }

    /// Like [`Client::attach`], but a connection that fails (the hub is away) is `Err(None)`
    /// rather than a panic.
    pub async fn try_attach(
        hub: SocketAddr,
        vps_id: &str,
        session_id: &str,
        ticket: &str,
        last_seq: Option<u64>,
    ) -> Result<Self, Option<u16>> {
        Self::dial_request(terminal_url(hub, vps_id, session_id, ticket, last_seq)).await
    }

    /// Opens the WebSocket at `url` (an attach route's `url`).
    pub async fn connect(url: &str) -> Result<Self, u16> {
        Self::open(url.into_client_request().unwrap()).await
    }

    async fn open(
        request: tokio_tungstenite::tungstenite::handshake::client::Request,
    ) -> Result<Self, u16> {
        Self::dial_request(request)
            .await
            .map_err(|status| status.expect("the hub answers"))
    }

    async fn dial_request(
        request: tokio_tungstenite::tungstenite::handshake::client::Request,
    ) -> Result<Self, Option<u16>> {
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, _)) => Ok(Self {
                ws,
                early: std::collections::VecDeque::new(),
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(Some(response.status().as_u16()))
            }
            Err(_) => Err(None),
        }
    }

    /// Waits until the hub has linked this gateway socket. The handshake completes before
    /// the hub links the socket, and the hub reads (so answers a ping) only after linking:
    /// without this, a browser attaching at once could find the gateway not yet connected.
    pub async fn linked(&mut self) {
        self.read_by_hub().await;
    }

    /// Waits until the hub has read everything sent so far: it answers a ping only once it
    /// has read what came before it.
    pub async fn read_by_hub(&mut self) {
        let probe = b"linked";
        self.ws
            .send(Message::Ping(probe.to_vec().into()))
            .await
            .unwrap();
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("the hub's pong in time");
            match message {
                Some(Ok(Message::Pong(payload))) if payload.as_ref() == probe => return,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                // Commands the hub sends at once (snapshots for waiting browsers).
                Some(Ok(other @ (Message::Text(_) | Message::Binary(_)))) => {
                    let received = received(other);
                    self.early.push_back(received);
                }
                other => panic!("expected the hub's pong, got {other:?}"),
            }
        }
    }

    pub async fn hello(&mut self, gateway_id: &str) {
        self.send(json!({
            "type": "gateway.hello", "schema_version": "1", "gateway_id": gateway_id,
            "version": "v0.1.0", "hostname": "box",
            "system_info": {"os": "linux", "arch": "amd64", "cpus": 2,
                            "ram_total_bytes": 1u64 << 31, "disk_total_bytes": 1u64 << 35}
        }))
        .await;
    }

    pub async fn send(&mut self, value: Value) {
        self.ws
            .send(Message::Text(value.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn send_text(&mut self, text: String) {
        let _ = self.ws.send(Message::Text(text.into())).await;
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        let _ = self.ws.send(Message::Binary(bytes.into())).await;
    }

    pub async fn output(&mut self, session_id: &str, seq: u64, payload: &[u8]) {
        let bytes = frame::encode_output(session_id, seq, payload).unwrap();
        self.ws.send(Message::Binary(bytes.into())).await.unwrap();
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    /// The next message (pings skipped).
    pub async fn next(&mut self) -> Received {
        if let Some(early) = self.early.pop_front() {
            return early;
        }
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a message in time");
            match message {
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(message)) => return received(message),
                Some(Err(_)) | None => return Received::Closed(None),
            }
        }
    }

    /// The next JSON message.
    pub async fn json(&mut self) -> Value {
        match self.next().await {
            Received::Json(value) => value,
            other => panic!("expected JSON, got {other:?}"),
        }
    }

    /// The next JSON message of `type`, skipping others.
    pub async fn json_of(&mut self, type_name: &str) -> Value {
        loop {
            match self.next().await {
                Received::Json(value) if value["type"] == type_name => return value,
                Received::Closed(code) => panic!("closed ({code:?}) waiting for {type_name}"),
                _ => continue,
            }
        }
    }

    /// As a gateway: acks the next command, answering `session.create` with
    /// `session.started` and `session.snapshot` with a snapshot; returns the command.
    pub async fn accept(&mut self) -> Value {
        let command = self.json().await;
        let request_id = command["request_id"].clone();
        self.send(
            json!({"type": "ack", "schema_version": "1", "request_id": request_id, "ok": true}),
        )
        .await;
        match command["type"].as_str() {
            Some("session.create") => {
                self.send(json!({"type": "session.started", "schema_version": "1",
                                 "request_id": request_id, "session_id": command["session_id"]}))
                    .await;
            }
            Some("session.snapshot") => {
                self.send(json!({"type": "session.snapshot", "schema_version": "1",
                                 "request_id": request_id, "session_id": command["session_id"],
                                 "content": "$ ls\r\n", "cols": 80, "rows": 24, "cursor_x": 2,
                                 "cursor_y": 1, "cursor_visible": true, "alternate_on": false}))
                    .await;
            }
            _ => {}
        }
        command
    }

    /// As a gateway: [`Client::accept`]s commands until one of `type_name`; returns it.
    pub async fn accept_until(&mut self, type_name: &str) -> Value {
        loop {
            let command = self.accept().await;
            if command["type"] == type_name {
                return command;
            }
        }
    }

    /// The next output frame's seq and payload, skipping JSON.
    pub async fn frame(&mut self) -> (u64, Vec<u8>) {
        loop {
            match self.next().await {
                Received::Frame { seq, payload, .. } => return (seq, payload),
                Received::Closed(code) => panic!("closed ({code:?}) waiting for a frame"),
                Received::Json(_) => continue,
            }
        }
    }

    /// The close code the peer sends, skipping everything before it.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            if let Received::Closed(code) = self.next().await {
                return code;
            }
        }
    }
}

/// What a text, binary or close message carries.
fn received(message: Message) -> Received {
    match message {
        Message::Text(text) => Received::Json(serde_json::from_str(text.as_str()).unwrap()),
        Message::Binary(bytes) => {
            let frame = frame::decode(&bytes).unwrap();
            Received::Frame {
                seq: frame.seq,
                payload: frame.payload.to_vec(),
            }
        }
        Message::Close(frame) => Received::Closed(frame.map(|f: CloseFrame| u16::from(f.code))),
        other => panic!("not a message the protocol carries: {other:?}"),
    }
}

/// A terminal's WebSocket request.
fn terminal_url(
    hub: SocketAddr,
    vps_id: &str,
    session_id: &str,
    ticket: &str,
    last_seq: Option<u64>,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut url = format!(
        "ws://{hub}/vps/{vps_id}/terminal?session_id={session_id}&ticket={}",
        urlencoding::encode(ticket)
    );
    if let Some(n) = last_seq {
        url.push_str(&format!("&last_seq={n}"));
    }
    url.into_client_request().unwrap()
}

/// The gateway answers the next command it reads with an ack (and `extra`, if any).
pub async fn answer(gateway: &mut Client, extra: impl FnOnce(&Value) -> Option<Value>) -> Value {
    let command = gateway.json().await;
    let request_id = command["request_id"].clone();
    gateway
        .send(json!({"type": "ack", "schema_version": "1", "request_id": request_id, "ok": true}))
        .await;
    if let Some(extra) = extra(&command) {
        gateway.send(extra).await;
    }
    command
}

/// A gateway's snapshot answering `command` (for [`answer`]).
pub fn snapshot_for(command: &Value) -> Option<Value> {
    Some(json!({"type": "session.snapshot", "schema_version": "1",
                "request_id": command["request_id"], "session_id": command["session_id"],
                "content": "$ ", "cols": 80, "rows": 24}))
}
