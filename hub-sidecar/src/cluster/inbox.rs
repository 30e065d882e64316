//! This hub's subscription: its own inbox channel and the broadcast channel, and what it does
//! with each message. Nothing here waits on a peer: replies are published by tasks of their
//! own, and browsers' messages are pushed to bounded queues.

use std::{sync::Arc, time::Duration};

use axum::extract::ws::Message;
use bytes::Bytes;
use chatcode_core::{protocol::parse_command, revocation::Revocation};
use futures::StreamExt;
use tokio::sync::watch;

use super::{
    BROADCAST, Cluster, ClusterError, inbox as inbox_channel, remote,
    wire::{self, Header},
};
use crate::{commands, hub::Hub, outbox::PushError, revoke};

/// Longest pause between two attempts to subscribe.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Subscribes and dispatches until `stop`; when the subscription drops, every bridge and
/// remote browser is closed (they reconnect) and it subscribes again.
pub async fn listen(hub: Arc<Hub>, cluster: Arc<Cluster>, mut stop: watch::Receiver<bool>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let run = async {
            let mut pubsub = cluster.client.get_async_pubsub().await?;
            pubsub.subscribe(inbox_channel(&cluster.id)).await?;
            pubsub.subscribe(BROADCAST).await?;
            cluster.ready.send_replace(true);
            tracing::info!(hub_id = %cluster.id, "subscribed to redis");
            let mut messages = pubsub.into_on_message();
            while let Some(message) = messages.next().await {
                dispatch(&hub, &cluster, message.get_payload_bytes());
            }
            Ok::<(), ClusterError>(())
        };
        let ended = tokio::select! {
            ended = run => ended,
            _ = stop.changed() => return,
        };
        cluster.ready.send_replace(false);
        match ended {
            Ok(()) => tracing::warn!("the redis subscription ended"),
            Err(e) => tracing::warn!("cannot subscribe to redis: {e}"),
        }
        cluster.drop_all("this hub lost its redis");
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn dispatch(hub: &Arc<Hub>, cluster: &Arc<Cluster>, payload: &[u8]) {
    let (header, body) = match wire::decode(payload) {
        Ok(decoded) => decoded,
        Err(e) => {
            tracing::warn!("ignoring a message from another hub: {e}");
            return;
        }
    };
    match header {
        Header::Attach {
            from,
            bridge,
            ticket,
            session_id,
            vps_id,
            last_seq,
        } => {
            let request = remote::Request {
                from,
                bridge,
                ticket,
                session_id,
                vps_id,
                last_seq,
            };
            remote::open(hub, cluster, request);
        }
        Header::ToOwner { from, bridge } => match wire::records(body) {
            Ok(messages) => remote::input(cluster, from, bridge, messages),
            Err(e) => tracing::warn!("ignoring a browser's messages from another hub: {e}"),
        },
        Header::ToBridges => match wire::groups(body) {
            Ok(groups) => {
                for (bridges, message) in groups {
                    for bridge in bridges {
                        to_bridge(cluster, bridge, message.clone());
                    }
                }
            }
            Err(e) => tracing::warn!("ignoring browsers' messages from another hub: {e}"),
        },
        Header::Relay {
            from,
            id,
            gateway_id,
        } => {
            let (hub, cluster) = (hub.clone(), cluster.clone());
            tokio::spawn(async move {
                let (status, answer) = relay(&hub, &gateway_id, &body).await;
                let header = Header::RelayAnswer { id, status };
                if let Err(e) = cluster.send(&from, &header, answer.as_bytes()).await {
                    tracing::warn!("cannot answer another hub's relay: {e}");
                }
            });
        }
        Header::RelayAnswer { id, status } => cluster.finish_relay(id, status, body),
        Header::Claimed {
            hub: claimer,
            gateway_id,
            n,
        } => cluster.claimed(hub, &claimer, &gateway_id, n),
        Header::Revoke { from } if from != cluster.id => {
            match serde_json::from_slice::<Revocation>(&body) {
                Ok(revocation) => {
                    revoke::apply(hub, &revocation);
                }
                Err(e) => tracing::warn!("ignoring another hub's revocation: {e}"),
            }
        }
        Header::Revoke { .. } => {}
    }
}

/// Writes what a gateway's owner sends to a bridged browser; a close ends the bridge, and so
/// does a browser that no longer keeps up (1013: it resumes).
fn to_bridge(cluster: &Cluster, bridge: u64, message: Message) {
    let lock = super::lock(&cluster.bridges);
    let Some(entry) = lock.get(&bridge) else {
        return;
    };
    let outbox = entry.outbox.clone();
    drop(lock);
    if let Message::Close(frame) = message {
        let (code, reason) = frame.map_or((1000, String::new()), |f| {
            (f.code, f.reason.as_str().to_owned())
        });
        outbox.close(code, &reason);
        cluster.remove_bridge(bridge);
        return;
    }
    if outbox.push(message) == Err(PushError::Full) {
        outbox.close(
            crate::outbox::close::TRY_AGAIN_LATER,
            "too far behind: reconnect with last_seq",
        );
        cluster.remove_bridge(bridge);
    }
}

/// Runs another hub's relay here: the status and JSON body to answer with.
async fn relay(hub: &Hub, gateway_id: &str, body: &Bytes) -> (u16, String) {
    let command = std::str::from_utf8(body)
        .ok()
        .and_then(|text| parse_command(text).ok());
    let Some(command) = command else {
        let error = crate::errors::HubError::BadRequest("invalid relayed command".into());
        return error.parts();
    };
    match commands::relay_here(hub, gateway_id, &command).await {
        Ok(answer) => (200, answer.to_string()),
        Err(e) => e.parts(),
    }
}
