//! Where the benchmark's gateway and browsers connect: the hub, or the raw baseline server
//! that does the same job with nothing else.

use std::net::SocketAddr;

use anyhow::Context;
use chatcode_core::{
    ticket::{self, AttachTicket, Holder, Mode},
    time::now_ms,
};
use std::time::Duration;

use futures::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{
        Message,
        client::IntoClientRequest,
        handshake::client::Request,
        http::{HeaderValue, header::AUTHORIZATION},
    },
};

use super::{GATEWAY_ID, GATEWAY_TOKEN, HUB_SECRET, USER_ID, VPS_ID};

/// How long a browser waits for its first message.
const GREETING_TIMEOUT: Duration = Duration::from_secs(10);

/// A client WebSocket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The server under test.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// `chatcode-hub`.
    Hub(SocketAddr),
    /// The raw tokio-tungstenite server of `baseline.rs`.
    Baseline(SocketAddr),
}

impl Target {
    /// Gateway `gateway_id`'s upgrade request.
    pub fn gateway_request(self, gateway_id: &str) -> anyhow::Result<Request> {
        match self {
            Target::Hub(addr) => {
                let mut request = format!("ws://{addr}/gw/connect").into_client_request()?;
                let headers = request.headers_mut();
                headers.insert(
                    AUTHORIZATION,
                    HeaderValue::from_str(&format!("Bearer {GATEWAY_TOKEN}"))?,
                );
                headers.insert("x-gateway-id", HeaderValue::from_str(gateway_id)?);
                Ok(request)
            }
            Target::Baseline(addr) => Ok(format!("ws://{addr}/gw").into_client_request()?),
        }
    }

    /// A browser's URL for `session_id` of gateway `gateway_id`, with a fresh read-write
    /// ticket for the hub.
    pub fn browser_url(self, gateway_id: &str, session_id: &str) -> String {
        match self {
            Target::Hub(addr) => {
                let grant = AttachTicket::new(
                    Holder::new(USER_ID, "bench-login"),
                    gateway_id,
                    VPS_ID,
                    session_id,
                    Mode::ReadWrite,
                    now_ms(),
                    60_000,
                );
                let ticket = ticket::sign(&grant, HUB_SECRET);
                format!("ws://{addr}/vps/{VPS_ID}/terminal?session_id={session_id}&ticket={ticket}")
            }
            Target::Baseline(addr) => format!("ws://{addr}/b"),
        }
    }

    /// The echo endpoint a keystroke's round trip is compared with (baseline only).
    pub fn echo_url(self) -> String {
        match self {
            Target::Hub(addr) | Target::Baseline(addr) => format!("ws://{addr}/echo"),
        }
    }

    /// Short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Target::Hub(_) => "hub",
            Target::Baseline(_) => "baseline",
        }
    }
}

/// Opens a client WebSocket (without Nagle's algorithm).
pub async fn dial(request: impl IntoClientRequest + Unpin) -> anyhow::Result<Socket> {
    let (socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .context("WebSocket dial failed")?;
    Ok(socket)
}

/// A browser attached to `session_id`: connected, and greeted with its first text message
/// (the hub's snapshot `ack`, the baseline's hello), so it is registered for output.
pub async fn browser(target: Target, session_id: &str) -> anyhow::Result<Socket> {
    browser_of(target, GATEWAY_ID, session_id).await
}

/// A browser attached to `session_id` of gateway `gateway_id`, greeted as [`browser`] is.
pub async fn browser_of(
    target: Target,
    gateway_id: &str,
    session_id: &str,
) -> anyhow::Result<Socket> {
    let mut socket = dial(target.browser_url(gateway_id, session_id))
        .await
        .with_context(|| format!("browser dialing the {}", target.name()))?;
    let greeted = tokio::time::timeout(GREETING_TIMEOUT, async {
        while let Some(message) = socket.next().await {
            match message? {
                Message::Text(_) => return Ok(()),
                Message::Close(frame) => anyhow::bail!("closed before the greeting: {frame:?}"),
                _ => {}
            }
        }
        anyhow::bail!("closed before the greeting")
    })
    .await;
    greeted.with_context(|| format!("no greeting from the {} within 10 s", target.name()))??;
    Ok(socket)
}
