//! One connected socket: the greeting, then one `select!` loop over the control plane's
//! commands, output flushes, health reports, pings, the handle's requests and shutdown.

use std::time::Duration;

use chatcode_core::protocol::MAX_TEXT_BYTES;
use chatcode_core::protocol::frame::MAX_FRAME_BYTES;
use futures::{SinkExt as _, StreamExt as _};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{self, Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::commands;
use crate::config::SimConfig;
use crate::dial::Socket;
use crate::health;
use crate::outbox::{self, Out};
use crate::state::Shared;

/// Requests the handle queues for the current connection.
const CONTROL_CAPACITY: usize = 16;
/// How long a closing handshake may take before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// A request from the [`crate::SimHandle`] to the connection.
#[derive(Debug)]
pub(crate) enum Control {
    /// Send this text frame as is; answered once written.
    SendRaw(String, oneshot::Sender<()>),
    /// Drop the socket; answered once the connection is marked gone.
    Disconnect(oneshot::Sender<()>),
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The socket closed or failed, or the handle dropped it: reconnect.
    Closed,
    /// The simulator is stopping.
    Stopped,
}

/// Greets the control plane, then serves the socket until it closes or the simulator stops.
pub(crate) async fn serve(
    mut socket: Socket,
    shared: &Shared,
    config: &SimConfig,
    shutdown: &mut watch::Receiver<bool>,
) -> End {
    let greeting = outbox::greeting(&mut shared.lock(), config);
    if let Err(err) = send_all(&mut socket, greeting).await {
        tracing::warn!(%err, "the socket failed during the greeting");
        return End::Closed;
    }
    let (link, mut control) = mpsc::channel(CONTROL_CAPACITY);
    shared.connected(link);
    let (end, waiter) = run(&mut socket, shared, config, shutdown, &mut control).await;
    shared.disconnected();
    if let Some(waiter) = waiter {
        let _ = waiter.send(());
    }
    end
}

async fn run(
    socket: &mut Socket,
    shared: &Shared,
    config: &SimConfig,
    shutdown: &mut watch::Receiver<bool>,
    control: &mut mpsc::Receiver<Control>,
) -> (End, Option<oneshot::Sender<()>>) {
    let every = |period: Duration| {
        let period = period.max(Duration::from_millis(1));
        let mut interval = time::interval_at(Instant::now() + period, period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        interval
    };
    let (mut batch, mut health, mut ping) = (
        every(config.output_batch),
        every(config.health_interval),
        every(config.ping_interval),
    );
    loop {
        let out: Vec<Out> = tokio::select! {
            _ = shutdown.changed() => {
                close(socket, CloseCode::Away, "gateway stopping").await;
                return (End::Stopped, None);
            }
            Some(request) = control.recv() => match request {
                Control::SendRaw(text, done) => {
                    if let Err(err) = socket.send(Message::text(text)).await {
                        tracing::warn!(%err, "sending a raw text failed");
                        return (End::Closed, None);
                    }
                    let _ = done.send(());
                    continue;
                }
                Control::Disconnect(done) => {
                    tracing::info!("dropping the socket on request");
                    return (End::Closed, Some(done));
                }
            },
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if text.len() > MAX_TEXT_BYTES {
                        tracing::warn!(len = text.len(), "text frame too large");
                        close(socket, CloseCode::Size, "text message too large").await;
                        return (End::Closed, None);
                    }
                    let mut inner = shared.lock();
                    commands::on_text(&mut inner, config, &text)
                }
                Some(Ok(Message::Binary(bytes))) => {
                    if bytes.len() > MAX_FRAME_BYTES {
                        tracing::warn!(len = bytes.len(), "binary frame too large");
                        close(socket, CloseCode::Size, "binary message too large").await;
                        return (End::Closed, None);
                    }
                    tracing::debug!(len = bytes.len(), "ignoring a binary frame");
                    continue;
                }
                Some(Ok(Message::Close(frame))) => {
                    tracing::info!(?frame, "the control plane closed the socket");
                    close(socket, CloseCode::Normal, "").await;
                    return (End::Closed, None);
                }
                Some(Ok(_)) => continue,
                Some(Err(tungstenite::Error::Capacity(err))) => {
                    tracing::warn!(%err, "message too large");
                    close(socket, CloseCode::Size, "message too large").await;
                    return (End::Closed, None);
                }
                Some(Err(err)) => {
                    tracing::warn!(%err, "the socket failed");
                    return (End::Closed, None);
                }
                None => {
                    tracing::info!("the socket ended");
                    return (End::Closed, None);
                }
            },
            _ = batch.tick() => outbox::flush_all(&mut shared.lock()),
            _ = health.tick() => {
                let inner = shared.lock();
                vec![health::health(config, &inner, shared.started).into()]
            }
            _ = ping.tick() => {
                if let Err(err) = socket.send(Message::Ping(Default::default())).await {
                    tracing::warn!(%err, "ping failed");
                    return (End::Closed, None);
                }
                continue;
            }
        };
        if let Err(err) = send_all(socket, out).await {
            tracing::warn!(%err, "sending failed");
            return (End::Closed, None);
        }
    }
}

/// Writes `out` in order, then flushes.
async fn send_all(socket: &mut Socket, out: Vec<Out>) -> Result<(), tungstenite::Error> {
    if out.is_empty() {
        return Ok(());
    }
    for message in out {
        let message = match message {
            Out::Text(text) => Message::text(text),
            Out::Binary(bytes) => Message::binary(bytes),
        };
        socket.feed(message).await?;
    }
    socket.flush().await
}

/// Starts the closing handshake and waits briefly for it; errors only mean the socket is gone.
async fn close(socket: &mut Socket, code: CloseCode, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = time::timeout(CLOSE_TIMEOUT, socket.close(Some(frame))).await;
}
