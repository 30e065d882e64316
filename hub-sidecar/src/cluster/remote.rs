//! A browser of another hub, attached here where its gateway is: an ordinary subscriber of
//! the session, served by the same code as a local socket, whose input comes from its hub's
//! messages and whose queue feeds the queue of everything going to that hub ([`super::fanout`]).

use std::sync::Arc;

use axum::extract::ws::Message;
use chatcode_core::{
    ticket::{self, AttachTicket},
    time::now_ms,
};
use futures::channel::mpsc;

use super::{Cluster, Remote};
use crate::{
    browser_socket::{self, Terminal},
    hub::Hub,
    outbox::{Outbox, close},
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
    let queue = cluster.peer_queue(&request.from, &hub.metrics);
    let outbox = Outbox::shared(queue, request.bridge, hub.config.browser_queue);
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
