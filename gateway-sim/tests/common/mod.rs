//! A fake hub for the simulator's tests: an axum server on 127.0.0.1:0 that accepts
//! `/gw/connect` with the test token, records each dial, and hands each socket to the test as
//! a typed [`HubConn`] that parses everything the simulator sends.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chatcode_core::protocol::frame::{self, Frame};
use chatcode_core::protocol::{
    Ack, Command, Event, Incoming, Query, SessionCreate, SessionInput, encode_data, parse_event,
};
use chatcode_gateway_sim::{Backoff, SimConfig};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The token the fake hub accepts.
pub const TOKEN: &str = "sim-test-token";
/// The gateway id the tests use.
pub const GATEWAY_ID: &str = "gw-sim-test";
/// The most any single wait in a test lasts; generous, as waits never assert speed.
pub const WAIT: Duration = Duration::from_secs(10);

/// One request to `/gw/connect`.
#[derive(Debug, Clone)]
pub struct Dial {
    /// When it arrived.
    pub at: Instant,
    /// Its headers.
    pub headers: HeaderMap,
    /// Whether it was upgraded (not answered 401).
    pub accepted: bool,
}

struct HubState {
    dials: Mutex<Vec<Dial>>,
    reject: AtomicU32,
    sockets: mpsc::Sender<WebSocket>,
}

/// The fake hub.
pub struct FakeHub {
    addr: SocketAddr,
    state: Arc<HubState>,
    sockets: mpsc::Receiver<WebSocket>,
    server: JoinHandle<()>,
}

impl FakeHub {
    /// Serves on a free port.
    pub async fn start() -> FakeHub {
        let (tx, sockets) = mpsc::channel(8);
        let state = Arc::new(HubState {
            dials: Mutex::new(Vec::new()),
            reject: AtomicU32::new(0),
            sockets: tx,
        });
        let app = Router::new()
            .route("/gw/connect", get(connect))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeHub {
            addr,
            state,
            sockets,
            server,
        }
    }

    /// The URL the simulator dials.
    pub fn url(&self) -> String {
        format!("ws://{}/gw/connect", self.addr)
    }

    /// A configuration for this hub, with a fast back-off and the default 30 s health interval
    /// (so health reports stay out of the way).
    pub fn config(&self) -> SimConfig {
        let mut config = SimConfig::new(self.url(), GATEWAY_ID, TOKEN);
        config.hostname = "sim-host".into();
        config.output_batch = Duration::from_millis(20);
        config.backoff = Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(400),
        };
        config
    }

    /// Answers the next `n` dials with 401.
    pub fn reject_next(&self, n: u32) {
        self.state.reject.store(n, Ordering::SeqCst);
    }

    /// Every dial so far.
    pub fn dials(&self) -> Vec<Dial> {
        self.state
            .dials
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The next upgraded socket.
    pub async fn accept(&mut self) -> HubConn {
        let socket = tokio::time::timeout(WAIT, self.sockets.recv())
            .await
            .expect("the simulator connects in time")
            .expect("the hub is running");
        HubConn::new(socket)
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn connect(
    State(state): State<Arc<HubState>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let bearer = format!("Bearer {TOKEN}");
    let authorized = headers
        .get("authorization")
        .is_some_and(|v| v.as_bytes() == bearer.as_bytes());
    let rejected = state
        .reject
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let accepted = authorized && !rejected;
    state
        .dials
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Dial {
            at: Instant::now(),
            headers,
            accepted,
        });
    if !accepted {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let sockets = state.sockets.clone();
    upgrade.on_upgrade(move |socket| async move {
        let _ = sockets.send(socket).await;
    })
}

/// What the simulator sent, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Got {
    /// A known event.
    Event(Event),
    /// A well-formed event of an unknown type.
    Unknown(String),
    /// An output frame.
    Frame(Frame),
    /// A ping.
    Ping,
    /// A pong, with its payload.
    Pong(Vec<u8>),
    /// A close frame, with its code.
    Closed(Option<u16>),
    /// The socket ended without a close frame.
    Ended,
}

/// The hub's side of one simulator connection.
pub struct HubConn {
    socket: WebSocket,
    next_rid: u64,
    /// Every frame received, in order.
    pub frames: Vec<Frame>,
}

impl HubConn {
    fn new(socket: WebSocket) -> HubConn {
        HubConn {
            socket,
            next_rid: 0,
            frames: Vec::new(),
        }
    }

    /// A fresh request id.
    pub fn rid(&mut self) -> String {
        self.next_rid += 1;
        format!("req-{}", self.next_rid)
    }

    /// The next message. Panics if it does not parse as an event or a frame, or if none comes
    /// within [`WAIT`].
    pub async fn recv(&mut self) -> Got {
        let message = tokio::time::timeout(WAIT, self.socket.recv())
            .await
            .expect("the simulator sends in time");
        let got = match message {
            None | Some(Err(_)) => Got::Ended,
            Some(Ok(Message::Text(text))) => match parse_event(text.as_str()) {
                Ok(Incoming::Event(event)) => Got::Event(event),
                Ok(Incoming::Unknown { type_name }) => Got::Unknown(type_name),
                Err(err) => panic!("unparseable text from the simulator: {err}: {text}"),
            },
            Some(Ok(Message::Binary(bytes))) => match frame::decode(&bytes) {
                Ok(frame) => Got::Frame(frame.to_owned_frame()),
                Err(err) => panic!("undecodable frame from the simulator: {err}"),
            },
            Some(Ok(Message::Ping(_))) => Got::Ping,
            Some(Ok(Message::Pong(payload))) => Got::Pong(payload.to_vec()),
            Some(Ok(Message::Close(frame))) => Got::Closed(frame.map(|f| f.code)),
        };
        if let Got::Frame(frame) = &got {
            assert!(frame.payload.len() <= frame::GATEWAY_PAYLOAD_BYTES);
            self.frames.push(frame.clone());
        }
        got
    }

    /// The next event that `pick` accepts; frames on the way are kept in [`Self::frames`],
    /// other events and pings are skipped.
    pub async fn event_where(&mut self, pick: impl Fn(&Event) -> bool) -> Event {
        loop {
            match self.recv().await {
                Got::Event(event) if pick(&event) => return event,
                Got::Closed(code) => panic!("closed ({code:?}) while waiting for an event"),
                Got::Ended => panic!("socket ended while waiting for an event"),
                _ => {}
            }
        }
    }

    /// The next event other than `gateway.health`, with everything before it.
    pub async fn next_event(&mut self) -> Event {
        self.event_where(|e| !matches!(e, Event::GatewayHealth(_)))
            .await
    }

    /// Every message up to and including the `ack` of `request_id`.
    pub async fn until_ack(&mut self, request_id: &str) -> (Ack, Vec<Got>) {
        let mut seen = Vec::new();
        loop {
            let got = self.recv().await;
            match &got {
                Got::Event(Event::Ack(ack)) if ack.request_id == request_id => {
                    return (ack.clone(), seen);
                }
                Got::Closed(_) | Got::Ended => panic!("socket gone waiting for {request_id}"),
                _ => seen.push(got),
            }
        }
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.socket
            .send(Message::Text(text.into().into()))
            .await
            .expect("send to the simulator");
    }

    /// Sends a raw WebSocket message.
    pub async fn send_message(&mut self, message: Message) {
        self.socket
            .send(message)
            .await
            .expect("send to the simulator");
    }

    /// Sends a command.
    pub async fn send(&mut self, command: &Command) {
        self.send_text(command.to_json()).await;
    }

    /// Sends a command and returns its `ack`, skipping what comes before it.
    pub async fn request(&mut self, command: &Command) -> Ack {
        self.send(command).await;
        self.until_ack(command.request_id()).await.0
    }

    /// Reads until the session's output (all frames so far) contains `needle`.
    pub async fn output_until(&mut self, session_id: &str, needle: &str) -> String {
        loop {
            let text = self.output(session_id);
            if text.contains(needle) {
                return text;
            }
            if let Got::Closed(_) | Got::Ended = self.recv().await {
                panic!("socket gone waiting for {needle:?}; output so far {text:?}");
            }
        }
    }

    /// The session's output so far, from the frames received on this connection.
    pub fn output(&self, session_id: &str) -> String {
        let bytes: Vec<u8> = self
            .frames
            .iter()
            .filter(|f| f.session_id == session_id)
            .flat_map(|f| f.payload.iter().copied())
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The `seq`s of the session's frames on this connection.
    pub fn seqs(&self, session_id: &str) -> Vec<u64> {
        self.frames
            .iter()
            .filter(|f| f.session_id == session_id)
            .map(|f| f.seq)
            .collect()
    }

    /// Reads until the close frame (or the end) and returns its code.
    pub async fn until_closed(&mut self) -> Option<u16> {
        loop {
            match self.recv().await {
                Got::Closed(code) => return code,
                Got::Ended => return None,
                _ => {}
            }
        }
    }

    /// `session.create` for `session_id`, and its `session.started`.
    pub async fn create(&mut self, session_id: &str, workdir: &str) -> u32 {
        let rid = self.rid();
        let ack = self.request(&create(&rid, session_id, workdir)).await;
        assert!(ack.ok, "create failed: {ack:?}");
        let started = self
            .event_where(|e| matches!(e, Event::SessionStarted(s) if s.request_id == rid))
            .await;
        let Event::SessionStarted(started) = started else {
            unreachable!()
        };
        assert_eq!(started.session_id, session_id);
        started.pid.expect("a pid")
    }

    /// Types `text` into a session and checks the `ack`.
    pub async fn type_text(&mut self, session_id: &str, text: &str) {
        let rid = self.rid();
        let ack = self.request(&input(&rid, session_id, text)).await;
        assert!(ack.ok, "input failed: {ack:?}");
    }
}

/// `session.create`.
pub fn create(rid: &str, session_id: &str, workdir: &str) -> Command {
    Command::SessionCreate(SessionCreate {
        request_id: rid.into(),
        session_id: session_id.into(),
        name: "test".into(),
        workdir: workdir.into(),
        agent: None,
        agent_config: None,
        env: None,
    })
}

/// `session.input`.
pub fn input(rid: &str, session_id: &str, text: &str) -> Command {
    Command::SessionInput(SessionInput {
        request_id: rid.into(),
        session_id: session_id.into(),
        data: encode_data(text.as_bytes()),
    })
}

/// A `Query` command (`ssh.list`, `agents.list`, `workspace.list`).
pub fn query(rid: &str) -> Query {
    Query {
        request_id: rid.into(),
    }
}

/// A terminal size.
pub fn size(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).expect("non-zero")
}
