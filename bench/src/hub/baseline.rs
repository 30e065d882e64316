//! The baselines, served by the baseline's server process: a raw tokio-tungstenite server that fans each
//! binary frame from `/gw` out to every `/b` client through a per-client bounded channel
//! (evicting a client whose channel is full, as the hub does), forwards each text message of a
//! `/b` client to `/gw` through that socket's own channel (the hub's keystroke path with nothing
//! else), and echoes on `/echo`; and a
//! trivial axum endpoint for the relay's HTTP round trip. Its sockets keep tokio's defaults (no
//! `TCP_NODELAY`; a one-message-each-way echo never waits on Nagle's algorithm).

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};

use anyhow::Context;
use axum::{Json, Router, extract::Path, routing::post};
use futures::{SinkExt, StreamExt, stream::SplitSink};
use serde_json::{Value, json};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        Message,
        handshake::server::{Request, Response},
        protocol::WebSocketConfig,
    },
};

/// Messages queued per client, as the hub's browser queue.
const CLIENT_QUEUE: usize = 1024;

#[derive(Default)]
struct Clients {
    list: Mutex<Vec<(u64, mpsc::Sender<Message>)>>,
    ids: AtomicU64,
    connected: AtomicUsize,
    gateway: Mutex<Option<mpsc::Sender<Message>>>,
}

/// The raw WebSocket baseline.
pub struct WsServer {
    /// Where it listens.
    pub addr: SocketAddr,
    clients: Arc<Clients>,
}

impl WsServer {
    /// Serves with `read_buffer` bytes of read buffer per socket (default: 128 KiB).
    pub async fn start_with(read_buffer: Option<usize>) -> anyhow::Result<Self> {
        let config = read_buffer.map(|n| WebSocketConfig::default().read_buffer_size(n));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the baseline server")?;
        let addr = listener.local_addr()?;
        let clients = Arc::new(Clients::default());
        let shared = clients.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(connection(stream, shared.clone(), config));
            }
        });
        Ok(Self { addr, clients })
    }

    /// `/b` clients connected now.
    pub fn connected(&self) -> usize {
        self.clients.connected.load(Ordering::Relaxed)
    }
}

async fn connection(stream: TcpStream, clients: Arc<Clients>, config: Option<WebSocketConfig>) {
    let mut path = String::new();
    // tungstenite's callback signature fixes the error type.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response| {
        path = request.uri().path().to_owned();
        Ok::<Response, _>(response)
    };
    let accepted = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, config).await;
    let Ok(socket) = accepted else { return };
    match path.as_str() {
        "/gw" => producer(socket, &clients).await,
        "/b" => subscriber(socket, &clients).await,
        "/echo" => echo(socket).await,
        _ => {}
    }
}

async fn producer(socket: WebSocketStream<TcpStream>, clients: &Clients) {
    let (sink, mut stream) = socket.split();
    let (tx, rx) = mpsc::channel(CLIENT_QUEUE);
    *clients
        .gateway
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(tx);
    let writer = tokio::spawn(write_all(sink, rx));
    while let Some(Ok(message)) = stream.next().await {
        if let Message::Binary(bytes) = message {
            let mut list = clients.list.lock().unwrap_or_else(PoisonError::into_inner);
            // A full channel evicts the client: dropping its sender ends its writer.
            list.retain(|(_, tx)| tx.try_send(Message::Binary(bytes.clone())).is_ok());
        }
    }
    writer.abort();
}

/// Writes what `rx` yields to `sink` until either side ends.
async fn write_all(
    mut sink: SplitSink<WebSocketStream<TcpStream>, Message>,
    mut rx: mpsc::Receiver<Message>,
) {
    while let Some(message) = rx.recv().await {
        if sink.send(message).await.is_err() {
            break;
        }
    }
}

async fn subscriber(socket: WebSocketStream<TcpStream>, clients: &Clients) {
    let (sink, mut stream) = socket.split();
    let (tx, rx) = mpsc::channel(CLIENT_QUEUE);
    let id = clients.ids.fetch_add(1, Ordering::Relaxed);
    let _ = tx.try_send(Message::text("{\"type\":\"hello\"}"));
    clients
        .list
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((id, tx));
    clients.connected.fetch_add(1, Ordering::Relaxed);
    let writer = tokio::spawn(write_all(sink, rx));
    while let Some(Ok(message)) = stream.next().await {
        match message {
            Message::Close(_) => break,
            Message::Text(_) => {
                let gateway = clients
                    .gateway
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if let Some(gateway) = gateway.as_ref() {
                    let _ = gateway.try_send(message);
                }
            }
            _ => {}
        }
    }
    writer.abort();
    clients
        .list
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|(other, _)| *other != id);
    clients.connected.fetch_sub(1, Ordering::Relaxed);
}

async fn echo(mut socket: WebSocketStream<TcpStream>) {
    while let Some(Ok(message)) = socket.next().await {
        if (message.is_text() || message.is_binary()) && socket.send(message).await.is_err() {
            break;
        }
    }
}

/// A trivial axum endpoint at the relay's path: parses the command and answers an `ack` at
/// once. Serves on `127.0.0.1:0` until the process exits.
pub async fn serve_trivial_http() -> anyhow::Result<SocketAddr> {
    let app = Router::new().route("/internal/gateways/{id}/commands", post(trivial));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the trivial HTTP baseline")?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("trivial HTTP baseline stopped: {e}");
        }
    });
    Ok(addr)
}

async fn trivial(Path(_id): Path<String>, Json(command): Json<Value>) -> Json<Value> {
    let request_id = command["request_id"].clone();
    Json(json!({
        "request_id": request_id,
        "ack": { "type": "ack", "schema_version": "1", "request_id": request_id, "ok": true },
        "event": null,
    }))
}
