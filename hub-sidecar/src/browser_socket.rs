//! `GET /vps/:id/terminal?session_id=…&ticket=…[&last_seq=N]`: a browser's terminal. The
//! attach ticket is verified without a database; then the browser gets a snapshot (or the
//! frames after `last_seq`) and live output, and may send input, resize, ack, snapshot and
//! ping, within what its ticket allows.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use axum::{
    extract::{Path, Query, State, WebSocketUpgrade, ws::Message},
    response::{IntoResponse, Response},
};
use chatcode_core::{
    protocol::{
        BrowserMessage, Command, HubMessage, MAX_TEXT_BYTES, SnapshotRequest, error_code,
        parse_browser_message,
    },
    ticket::{self, AttachTicket, TicketError},
    time::now_ms,
};
use futures::{Stream, StreamExt};
use serde::Deserialize;

use crate::{
    cluster::bridge,
    errors::HubError,
    gateway::{AttachError, Attached, Gateway},
    hub::Hub,
    outbox::{Outbox, close, spawn_writer},
    rate::TokenBucket,
    session_hub::Subscriber,
};

/// Bytes tungstenite reads at a time from a browser (its default, 128 KiB, is zero-filled per
/// socket on the first read).
const BROWSER_READ_BUFFER: usize = 4 * 1024;

/// The query of a terminal URL.
#[derive(Deserialize)]
pub struct TerminalQuery {
    session_id: String,
    ticket: String,
    last_seq: Option<u64>,
}

/// Verifies the ticket, then upgrades.
pub async fn attach(
    State(hub): State<Arc<Hub>>,
    Path(vps_id): Path<String>,
    query: Result<Query<TerminalQuery>, axum::extract::rejection::QueryRejection>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Ok(Query(query)) = query else {
        return HubError::BadRequest(
            "session_id and ticket are required; last_seq is a number".into(),
        )
        .into_response();
    };
    let ticket = match ticket::verify(&query.ticket, &hub.config.hub_secret, now_ms()) {
        Ok(ticket) => ticket,
        Err(
            e @ (TicketError::Malformed
            | TicketError::BadSignature
            | TicketError::Expired
            | TicketError::TooLong),
        ) => {
            return HubError::Unauthorized(e.to_string()).into_response();
        }
    };
    if ticket.vps_id != vps_id || ticket.session_id != query.session_id {
        return HubError::Forbidden("the ticket is for another VPS or session").into_response();
    }
    if hub.is_revoked(&ticket) {
        return HubError::Unauthorized("this ticket was revoked".into()).into_response();
    }
    // Several hubs: a gateway another hub holds is reached through it.
    let mut claim_mark = None;
    if let Some(cluster) = &hub.cluster {
        claim_mark = Some(cluster.claim_mark(&ticket.gateway_id));
        match cluster.remote_owner(&ticket.gateway_id).await {
            Ok(Some(owner)) => {
                let attach = bridge::Attach {
                    owner,
                    ticket: query.ticket,
                    vps_id,
                    last_seq: query.last_seq,
                };
                return bridge::upgrade(hub.clone(), cluster.clone(), ticket, attach, upgrade);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!("cannot find the gateway's hub: {e}");
                return HubError::Unavailable("the hub cannot reach redis").into_response();
            }
        }
    }
    if !hub.gateway(&ticket.gateway_id).has_room(&ticket.session_id) {
        return HubError::Unavailable("this session has the most browsers the hub allows")
            .into_response();
    }
    let Some(permit) = hub.socket_permit() else {
        return HubError::Unavailable("the hub is at its socket limit").into_response();
    };
    let last_seq = query.last_seq;
    upgrade
        .max_message_size(MAX_TEXT_BYTES + 64 * 1024)
        // Browsers send small messages: a small read buffer keeps an idle socket cheap.
        .read_buffer_size(BROWSER_READ_BUFFER)
        .on_upgrade(move |socket| async move {
            let (sink, stream) = socket.split();
            let outbox = spawn_writer(sink, hub.config.browser_queue, hub.metrics.clone());
            let attach = Terminal {
                ticket: Arc::new(ticket),
                last_seq,
                claim_mark,
            };
            serve(hub, attach, outbox, stream).await;
            drop(permit);
        })
}

/// What a browser attaches with.
pub struct Terminal {
    /// Its verified ticket.
    pub ticket: Arc<AttachTicket>,
    /// Its resume point.
    pub last_seq: Option<u64>,
    /// Several hubs: the gateway's claim mark before this hub found no other hub holds it; a
    /// claim since then sends the browser to reconnect (and be routed to the claimer).
    pub claim_mark: Option<u64>,
}

/// Serves a browser's terminal: `stream` is what it sends, `outbox` where its messages go
/// (its socket, or the hub its socket is on).
pub async fn serve<S, E>(hub: Arc<Hub>, terminal: Terminal, outbox: Outbox, mut stream: S)
where
    S: Stream<Item = Result<Message, E>> + Unpin,
{
    let Terminal {
        ticket,
        last_seq,
        claim_mark,
    } = terminal;
    let gateway = hub.gateway(&ticket.gateway_id);
    let id = hub.next_id();
    let last_active = Arc::new(AtomicU64::new(hub.clock_ms()));
    let subscriber = Subscriber {
        id,
        outbox: outbox.clone(),
        ticket: ticket.clone(),
        last_active: last_active.clone(),
        catch_up: None,
    };
    hub.metrics.browsers(1);
    match gateway.attach(&ticket.session_id, subscriber, last_seq) {
        Ok(Attached::Resumed | Attached::GatewayAway) => {}
        Ok(Attached::NeedsSnapshot) => {
            request_snapshot(&hub, &gateway, &ticket.session_id, &outbox)
        }
        Err(AttachError::AtCapacity) => {
            outbox.close(close::TRY_AGAIN_LATER, "the session has its most browsers");
        }
        Err(AttachError::Queue(_)) => {
            outbox.close(close::TRY_AGAIN_LATER, "too much to replay at once");
        }
    }
    if let (Some(cluster), Some(mark)) = (&hub.cluster, claim_mark)
        && cluster.claimed_since(&ticket.gateway_id, mark)
    {
        outbox.close(close::SERVICE_RESTART, "the gateway moved to another hub");
    }
    let mut allowance = TokenBucket::new(hub.config.limits.browser_input);
    let pinger = tokio::spawn(ping(outbox.clone(), hub.config.timers.browser_ping));

    loop {
        // A writer that gave up (a stalled peer) ends the socket: both halves go.
        let message = tokio::select! {
            message = stream.next() => message,
            () = outbox.closed() => None,
            () = outbox.drained() => {
                if gateway.catch_up(&ticket.session_id, id) {
                    request_snapshot(&hub, &gateway, &ticket.session_id, &outbox);
                }
                continue;
            }
        };
        let Some(message) = message else { break };
        let verdict = match message {
            Ok(Message::Text(text)) => {
                // Only what the browser sends counts as activity: its pongs are automatic.
                last_active.store(hub.clock_ms(), Ordering::Relaxed);
                if text.len() > MAX_TEXT_BYTES {
                    Err((close::TOO_BIG, "text message over 1 MiB"))
                } else if allowance.take(text.len() as f64) {
                    text_message(&hub, &gateway, &ticket, id, &outbox, text.as_str())
                } else {
                    hub.metrics.input_limited();
                    refuse(
                        &outbox,
                        error_code::RATE_LIMITED,
                        "too much input: this message was dropped",
                        None,
                    );
                    Ok(())
                }
            }
            Ok(Message::Binary(_)) => Err((close::POLICY, "browsers send JSON text messages only")),
            Ok(Message::Close(_)) => break,
            Ok(Message::Ping(_) | Message::Pong(_)) => Ok(()),
            Err(_) => Err((close::TOO_BIG, "message too large or malformed")),
        };
        if let Err((code, reason)) = verdict {
            outbox.close(code, reason);
            break;
        }
        if outbox.is_closed() {
            break;
        }
    }
    pinger.abort();
    gateway.detach(&ticket.session_id, id);
    outbox.close(close::NORMAL, "closed");
    hub.metrics.browsers(-1);
}

type Verdict = Result<(), (u16, &'static str)>;

fn text_message(
    hub: &Hub,
    gateway: &Gateway,
    ticket: &AttachTicket,
    subscriber_id: u64,
    outbox: &Outbox,
    text: &str,
) -> Verdict {
    let refuse = |code: &str, message: &str, request_id: Option<String>| {
        refuse(outbox, code, message, request_id);
        Ok(())
    };
    let message = match parse_browser_message(text) {
        Ok(message) => message,
        Err(e) => return refuse(error_code::INVALID_MESSAGE, &e.to_string(), None),
    };
    let request_id = message.request_id().map(str::to_owned);
    if let BrowserMessage::Ping(ping) = &message {
        let _ = outbox.push(Message::Text(HubMessage::pong(ping).to_json().into()));
        return Ok(());
    }
    if message.session_id() != Some(ticket.session_id.as_str()) {
        return Err((close::POLICY, "this socket is attached to another session"));
    }
    if message.needs_write() {
        if !ticket.mode.can_write() {
            return refuse(
                error_code::READ_ONLY,
                "this ticket is read-only",
                request_id,
            );
        }
        if !gateway.take_lease(&ticket.session_id, subscriber_id) {
            return refuse(
                error_code::WRITER_BUSY,
                "another browser is typing in this session; try again in 30 s",
                request_id,
            );
        }
    }
    let Some(command) = message.into_command(|| hub.request_id()) else {
        return Ok(());
    };
    forward(gateway, command, outbox).map_or_else(
        |(code, message, request_id)| refuse(code, message, Some(request_id)),
        |()| Ok(()),
    )
}

/// Tells the browser why its message was not carried out (dropped if its queue is full).
fn refuse(outbox: &Outbox, code: &str, message: &str, request_id: Option<String>) {
    let error = HubMessage::error(code, message, request_id);
    let _ = outbox.push(Message::Text(error.to_json().into()));
}

/// Sends a browser's command to the gateway; its ack and answer come back to `outbox`.
fn forward(
    gateway: &Gateway,
    command: Command,
    outbox: &Outbox,
) -> Result<(), (&'static str, &'static str, String)> {
    let request_id = command.request_id().to_owned();
    if !gateway.with_relay(|relay| relay.begin_for_browser(&command, outbox.clone())) {
        return Err((error_code::BUSY, "too many commands in flight", request_id));
    }
    gateway
        .send(Message::Text(command.to_json().into()))
        .map_err(|_| {
            (
                error_code::GATEWAY_OFFLINE,
                "the gateway is not connected",
                request_id,
            )
        })
}

/// Asks the gateway for a snapshot of the session, answered to this browser.
fn request_snapshot(hub: &Hub, gateway: &Gateway, session_id: &str, outbox: &Outbox) {
    let command = Command::SessionSnapshot(SnapshotRequest {
        request_id: hub.request_id(),
        session_id: session_id.to_owned(),
    });
    if let Err((code, message, request_id)) = forward(gateway, command, outbox) {
        refuse(outbox, code, message, Some(request_id));
    }
}

async fn ping(outbox: Outbox, every: std::time::Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if outbox.push(Message::Ping(Vec::new().into())).is_err() && outbox.is_closed() {
            return;
        }
    }
}
