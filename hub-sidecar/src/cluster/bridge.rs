//! A browser on this hub whose gateway another hub holds: this hub only pipes. It tells the
//! owner of the attach, forwards every message the browser sends to the owner's inbox, and
//! writes what the owner sends back (see [`super::inbox`]) to the socket. A browser that
//! closes is detached there.

use std::sync::Arc;

use axum::{
    extract::{WebSocketUpgrade, ws::Message},
    response::{IntoResponse, Response},
};
use bytes::BytesMut;
use chatcode_core::{protocol::MAX_TEXT_BYTES, ticket::AttachTicket};
use futures::StreamExt;

use super::{
    Bridge, Cluster,
    wire::{Header, put_record},
};
use crate::{
    errors::HubError,
    hub::Hub,
    outbox::{close, spawn_writer},
};

/// What the owner needs to attach the browser as if it had dialled it.
pub struct Attach {
    /// The hub holding the gateway.
    pub owner: String,
    /// The signed ticket, checked again there.
    pub ticket: String,
    /// The VPS the URL names.
    pub vps_id: String,
    /// The resume point.
    pub last_seq: Option<u64>,
}

/// Upgrades a browser whose gateway `attach.owner` holds, and pipes it there.
pub fn upgrade(
    hub: Arc<Hub>,
    cluster: Arc<Cluster>,
    ticket: AttachTicket,
    attach: Attach,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(permit) = hub.socket_permit() else {
        return HubError::Unavailable("the hub is at its socket limit").into_response();
    };
    upgrade
        .max_message_size(MAX_TEXT_BYTES + 64 * 1024)
        .read_buffer_size(4 * 1024)
        .on_upgrade(move |socket| async move {
            let (sink, stream) = socket.split();
            pipe(hub, cluster, ticket, attach, sink, stream).await;
            drop(permit);
        })
}

async fn pipe(
    hub: Arc<Hub>,
    cluster: Arc<Cluster>,
    ticket: AttachTicket,
    attach: Attach,
    sink: futures::stream::SplitSink<axum::extract::ws::WebSocket, Message>,
    mut stream: futures::stream::SplitStream<axum::extract::ws::WebSocket>,
) {
    let outbox = spawn_writer(sink, hub.config.browser_queue, hub.metrics.clone());
    let id = hub.next_id();
    let owner = attach.owner.clone();
    cluster.add_bridge(
        id,
        Bridge {
            outbox: outbox.clone(),
            owner: owner.clone(),
            gateway_id: ticket.gateway_id.clone(),
        },
    );
    hub.metrics.browsers(1);
    let header = Header::Attach {
        from: cluster.id.clone(),
        bridge: id,
        ticket: attach.ticket,
        session_id: ticket.session_id.clone(),
        vps_id: attach.vps_id,
        last_seq: attach.last_seq,
    };
    let to_owner = Header::ToOwner {
        from: cluster.id.clone(),
        bridge: id,
    };
    let mut sent = cluster.send(&owner, &header, &[]).await;
    while sent.is_ok() {
        let message = tokio::select! {
            message = stream.next() => message,
            () = outbox.closed() => None,
        };
        let message = match message {
            Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => message,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_)) | Err(_)) | None => break,
        };
        let mut body = BytesMut::new();
        put_record(&mut body, &message);
        sent = cluster.send(&owner, &to_owner, &body).await;
    }
    cluster.remove_bridge(id);
    match sent {
        Ok(()) => {
            // The browser left (or was told to): the owner detaches it, if it has not yet.
            let mut body = BytesMut::new();
            put_record(&mut body, &Message::Close(None));
            let _ = cluster.send(&owner, &to_owner, &body).await;
        }
        Err(e) => {
            tracing::warn!("cannot reach the gateway's hub: {e}");
            outbox.close(close::SERVICE_RESTART, "the hub lost its redis");
        }
    }
    outbox.close(close::NORMAL, "closed");
    hub.metrics.browsers(-1);
}
