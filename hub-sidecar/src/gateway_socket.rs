//! `GET /gw/connect`: a gateway's WebSocket. Its token is checked with the app before the
//! upgrade; then text events are recorded, routed to relays and browsers, and binary output
//! frames are fanned out to the session's browsers.

use std::sync::Arc;

use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{Message, WebSocket},
    },
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use chatcode_core::{
    hub_events::HubEvent,
    protocol::{
        Command, Event, Incoming, MAX_TEXT_BYTES, SnapshotRequest, frame, is_valid_gateway_id,
        parse_event,
    },
    time::now_ms,
    token::parse_bearer,
};
use futures::StreamExt;

use crate::{
    errors::HubError,
    event_queue::{Offered, Source},
    gateway::Gateway,
    hub::Hub,
    outbox::{Outbox, close, spawn_writer},
};

/// Bytes tungstenite reads at a time from a gateway.
const GATEWAY_READ_BUFFER: usize = 32 * 1024;

/// Authenticates the gateway, then upgrades.
pub async fn connect(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let token = header("authorization").and_then(parse_bearer);
    let gateway_id = header("x-gateway-id").filter(|id| is_valid_gateway_id(id));
    let (Some(token), Some(gateway_id)) = (token, gateway_id) else {
        return HubError::Unauthorized("a gateway token and X-Gateway-Id are required".into())
            .into_response();
    };
    let owner = match hub.app.authenticate(gateway_id, token).await {
        Ok(Some(owner)) => owner,
        Ok(None) => {
            return HubError::Unauthorized("unknown gateway or wrong token".into()).into_response();
        }
        Err(e) => {
            tracing::error!(gateway_id, "cannot authenticate a gateway: {e}");
            return HubError::Unavailable("the app cannot be reached").into_response();
        }
    };
    let Some(permit) = hub.socket_permit() else {
        return HubError::Unavailable("the hub is at its socket limit").into_response();
    };
    let gateway_id = gateway_id.to_owned();
    upgrade
        .max_message_size(MAX_TEXT_BYTES + 64 * 1024)
        // Two of the gateway's 16 KiB frames a read: tungstenite's 128 KiB default is
        // zero-filled per socket on the first read, which idle gateways pay for.
        .read_buffer_size(GATEWAY_READ_BUFFER)
        .on_upgrade(move |socket| async move {
            let gateway = hub.gateway(&gateway_id);
            serve(hub, gateway, owner, socket).await;
            drop(permit);
        })
}

async fn serve(
    hub: Arc<Hub>,
    gateway: Arc<Gateway>,
    owner: crate::app::GatewayOwner,
    socket: WebSocket,
) {
    let (sink, mut stream) = socket.split();
    let outbox = spawn_writer(sink, hub.config.gateway_queue, hub.metrics.clone());
    let conn_id = hub.next_id();
    let linked = gateway.link(conn_id, outbox.clone(), owner);
    if let Some(old) = linked.replaced {
        old.close(
            close::REPLACED,
            "replaced by a newer connection of this gateway",
        );
    }
    hub.metrics.gateways(1);
    tracing::info!(gateway_id = %gateway.id, "gateway connected");
    if let Some(cluster) = &hub.cluster {
        // Several hubs: this one holds the gateway now; browsers elsewhere are routed here.
        let (cluster, gateway_id) = (cluster.clone(), gateway.id.clone());
        tokio::spawn(async move {
            if let Err(e) = cluster.claim(&gateway_id).await {
                tracing::warn!(gateway_id, "cannot claim the gateway in redis: {e}");
            }
        });
    }
    if linked.record_connected {
        let connected = HubEvent::Connected { at: now_ms() };
        hub.recorder.record(&gateway, connected, Source::Hub);
    }
    // Browsers that waited (or watched through the drop) get a snapshot, whatever the
    // gateway's greeting holds.
    for session_id in linked.watched {
        let ask = Command::SessionSnapshot(SnapshotRequest {
            request_id: hub.request_id(),
            session_id,
        });
        let _ = outbox.push(Message::Text(ask.to_json().into()));
    }

    loop {
        // A writer that gave up (a stalled peer) ends the socket: both halves go.
        let message = tokio::select! {
            message = stream.next() => message,
            () = outbox.closed() => None,
        };
        let Some(message) = message else { break };
        let verdict = match message {
            Ok(Message::Text(text)) => {
                hub.metrics.received(text.len());
                text_frame(&hub, &gateway, text.as_str())
            }
            Ok(Message::Binary(bytes)) => {
                hub.metrics.received(bytes.len());
                binary_frame(&gateway, bytes)
            }
            Ok(Message::Close(_)) => break,
            Ok(Message::Ping(_) | Message::Pong(_)) => Ok(()),
            Err(e) => {
                tracing::warn!(gateway_id = %gateway.id, "gateway socket failed: {e}");
                Err((close::TOO_BIG, "message too large or malformed"))
            }
        };
        if let Err((code, reason)) = verdict {
            tracing::warn!(gateway_id = %gateway.id, code, reason, "closing gateway socket");
            outbox.close(code, reason);
            break;
        }
    }
    closed(hub, gateway, conn_id, &outbox);
}

/// After the socket ends: unless a newer one took over, wait out the grace, then tell the app.
fn closed(hub: Arc<Hub>, gateway: Arc<Gateway>, conn_id: u64, outbox: &Outbox) {
    hub.metrics.gateways(-1);
    outbox.close(close::NORMAL, "closed");
    let Some(epoch) = gateway.unlink(conn_id) else {
        return;
    };
    let gone_at = now_ms();
    tracing::info!(gateway_id = %gateway.id, "gateway disconnected");
    tokio::spawn(async move {
        tokio::time::sleep(hub.config.timers.gateway_grace).await;
        if gateway.grace_over(epoch) {
            let gone = HubEvent::Disconnected { at: gone_at };
            hub.recorder.record(&gateway, gone, Source::Hub);
        }
    });
}

type Verdict = Result<(), (u16, &'static str)>;

fn binary_frame(gateway: &Gateway, bytes: Bytes) -> Verdict {
    if bytes.len() > frame::MAX_FRAME_BYTES {
        return Err((close::TOO_BIG, "binary frame over 64 KiB"));
    }
    let (session_id, seq) = match frame::decode(&bytes) {
        Ok(f) if f.kind == frame::FrameKind::Output => (f.session_id.to_owned(), f.seq),
        Ok(_) => return Err((close::POLICY, "gateways send output frames only")),
        Err(_) => return Err((close::POLICY, "malformed binary frame")),
    };
    gateway.output(&session_id, seq, bytes);
    Ok(())
}

fn text_frame(hub: &Hub, gateway: &Arc<Gateway>, text: &str) -> Verdict {
    if text.len() > MAX_TEXT_BYTES {
        return Err((close::TOO_BIG, "text frame over 1 MiB"));
    }
    let event = match parse_event(text) {
        Ok(Incoming::Event(event)) => event,
        Ok(Incoming::Unknown { type_name }) => {
            tracing::info!(gateway_id = %gateway.id, type_name, "ignoring an unknown event");
            return Ok(());
        }
        Err(e) => {
            hub.metrics.invalid_event();
            tracing::warn!(gateway_id = %gateway.id, "ignoring an invalid event: {e}");
            return Ok(());
        }
    };
    // Recorded as parsed: within the protocol's limits, without fields the app ignores.
    let record = || {
        let recorded = HubEvent::Gateway {
            at: now_ms(),
            event: serde_json::to_value(&event).unwrap_or_default(),
        };
        hub.recorder.record(gateway, recorded, Source::Gateway)
    };
    let offered = match &event {
        Event::GatewayHello(hello) if hello.gateway_id != gateway.id => {
            return Err((close::POLICY, "gateway.hello names another gateway"));
        }
        Event::GatewayHealth(health) if health.gateway_id != gateway.id => {
            hub.metrics.invalid_event();
            tracing::warn!(gateway_id = %gateway.id, "ignoring a health report of another gateway");
            return Ok(());
        }
        Event::GatewayHello(_)
        | Event::GatewayHealth(_)
        | Event::SessionStarted(_)
        | Event::SessionEnded(_)
        | Event::SessionError(_) => record(),
        _ => Offered::default(),
    };
    if let Event::SessionEnded(ended) = &event {
        gateway.session_ended(&ended.session_id);
    }
    gateway.route(&event, text);
    if offered.flooding {
        hub.metrics.flooder_closed();
        return Err((close::POLICY, "events past the gateway's cap"));
    }
    Ok(())
}
