//! A browser of another hub, attached here where its gateway is: an ordinary subscriber of
//! the session, served by the same code as a local socket, whose input comes from its hub's
//! messages and whose queue's writer publishes, batch by batch, to that hub's inbox.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use axum::extract::ws::Message;
use bytes::BytesMut;
use chatcode_core::{
    ticket::{self, AttachTicket},
    time::now_ms,
};
use futures::{Sink, channel::mpsc};

use super::{
    Cluster, ClusterError, Remote,
    wire::{Header, put_record},
};
use crate::{
    browser_socket::{self, Terminal},
    hub::Hub,
    outbox::{close, spawn_writer},
};

/// Messages of one remote browser waiting to be read, at most; past it the browser is closed
/// (1013) and resumes.
const INPUT_QUEUE: usize = 256;

/// A browser on hub `from` (its bridge `bridge`) asks to attach to a gateway held here.
pub struct Request {
    /// Its hub.
    pub from: String,
    /// Its id there.
    pub bridge: u64,
    /// The signed ticket.
    pub ticket: String,
    /// The session its URL names.
    pub session_id: String,
    /// The VPS its URL names.
    pub vps_id: String,
    /// Its resume point.
    pub last_seq: Option<u64>,
}

/// Attaches a browser of another hub, or tells that hub why not (a close code).
pub fn open(hub: &Arc<Hub>, cluster: &Arc<Cluster>, request: Request) {
    let sink = PublishSink::new(cluster.clone(), request.from.clone(), request.bridge);
    let outbox = spawn_writer(sink, hub.config.browser_queue, hub.metrics.clone());
    let ticket = match checked(hub, &request) {
        Ok(ticket) => ticket,
        Err((code, reason)) => {
            outbox.close(code, reason);
            return;
        }
    };
    let (input, stream) = mpsc::channel(INPUT_QUEUE);
    let key = (request.from, request.bridge);
    let remote = Remote {
        input,
        outbox: outbox.clone(),
    };
    if !cluster.add_remote(key.clone(), remote) {
        outbox.close(
            close::TRY_AGAIN_LATER,
            "the hub serves its most remote browsers",
        );
        return;
    }
    let terminal = Terminal {
        ticket: Arc::new(ticket),
        last_seq: request.last_seq,
        claim_mark: None,
    };
    let hub = hub.clone();
    let cluster = cluster.clone();
    tokio::spawn(async move {
        browser_socket::serve(hub, terminal, outbox, stream).await;
        cluster.remove_remote(&key);
    });
}

/// The owner checks the ticket itself: its secret, its revocations.
fn checked(hub: &Hub, request: &Request) -> Result<AttachTicket, (u16, &'static str)> {
    let ticket = ticket::verify(&request.ticket, &hub.config.hub_secret, now_ms())
        .map_err(|_| (close::POLICY, "invalid ticket"))?;
    if ticket.vps_id != request.vps_id || ticket.session_id != request.session_id {
        return Err((close::POLICY, "the ticket is for another VPS or session"));
    }
    if hub.is_revoked(&ticket) {
        return Err((close::SIGNED_OUT, "this ticket was revoked"));
    }
    Ok(ticket)
}

/// Forwards what a remote browser sends to its subscriber task; a browser that sends faster
/// than it is read is closed (1013), and a close detaches it.
pub fn input(cluster: &Cluster, from: String, bridge: u64, messages: Vec<Message>) {
    let key = (from, bridge);
    for message in messages {
        let detach = matches!(message, Message::Close(_));
        if detach {
            cluster.remove_remote(&key);
            return;
        }
        let mut remotes = super::lock(&cluster.remotes);
        let Some(remote) = remotes.get_mut(&key) else {
            return;
        };
        if remote.input.try_send(Ok(message)).is_err() {
            remote
                .outbox
                .close(close::TRY_AGAIN_LATER, "too much input at once");
            remotes.remove(&key);
            return;
        }
    }
}

type Sending = Pin<Box<dyn Future<Output = Result<(), ClusterError>> + Send>>;

/// Publishes what a writer writes to the browser's hub: the batch fed between two flushes
/// goes as one pub/sub message, in order.
struct PublishSink {
    cluster: Arc<Cluster>,
    to: String,
    bridge: u64,
    buffer: BytesMut,
    sending: Option<Sending>,
}

impl PublishSink {
    fn new(cluster: Arc<Cluster>, to: String, bridge: u64) -> Self {
        Self {
            cluster,
            to,
            bridge,
            buffer: BytesMut::new(),
            sending: None,
        }
    }

    fn poll_sending(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ClusterError>> {
        if let Some(sending) = &mut self.sending {
            let done = ready!(sending.as_mut().poll(cx));
            self.sending = None;
            done?;
        }
        Poll::Ready(Ok(()))
    }
}

impl Sink<Message> for PublishSink {
    type Error = ClusterError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_sending(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Self::Error> {
        put_record(&mut self.get_mut().buffer, &message);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        ready!(this.poll_sending(cx))?;
        if !this.buffer.is_empty() {
            let body = this.buffer.split().freeze();
            let cluster = this.cluster.clone();
            let to = this.to.clone();
            let header = Header::ToBridge {
                bridge: this.bridge,
            };
            this.sending = Some(Box::pin(
                async move { cluster.send(&to, &header, &body).await },
            ));
            ready!(this.poll_sending(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll_flush(cx)
    }
}
