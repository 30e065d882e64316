//! Several hubs behind one address, coordinated through Redis. Redis is the directory (which
//! hub holds which gateway, and which hubs are alive: keys that lapse unless refreshed) and the
//! data path (pub/sub); the hub holding a gateway keeps all of its session logic.
//!
//! A browser whose gateway another hub holds is *bridged*: its hub pipes every message to the
//! owner's inbox channel ([`bridge`]), where it becomes an ordinary subscriber ([`remote`])
//! whose queue feeds the one queue of its hub ([`fanout`]): a frame fanned out to many such
//! browsers crosses Redis once, with the list of their bridges. Resume, `gap`, snapshots, the writer
//! lease, rate limits and revocation are thus the owner's own logic. Relayed commands and
//! revocations travel the same way ([`inbox`]); claims, liveness and their lapse are in
//! [`directory`], and what becomes of a dead hub's gateways in [`reaper`].
//!
//! ```text
//! browser ─ws─▶ hub A ─PUBLISH chatcode:hub:B:inbox─▶ hub B (gateway's owner) ─▶ gateway
//! browser ◀─ws─ hub A ◀─PUBLISH chatcode:hub:A:inbox─ hub A's publisher on B ◀─ remote browsers' outboxes
//! ```

pub mod bridge;
pub mod directory;
pub mod fanout;
pub mod inbox;
pub mod reaper;
pub mod remote;
pub mod wire;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use futures::channel::mpsc;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{oneshot, watch};

use crate::outbox::Outbox;
use wire::Header;

/// Longest a Redis operation waits for the hub's subscription to be up.
const READY_WAIT: Duration = Duration::from_secs(5);
/// Relayed commands awaiting another hub's answer, at most.
const MAX_PENDING_RELAYS: usize = 10_000;
/// Browsers of other hubs one hub serves at most.
const MAX_REMOTES: usize = 50_000;
/// Buckets of claim counters (see [`Cluster::claim_mark`]).
const MARK_BUCKETS: usize = 256;
/// The broadcast channel every hub listens to.
pub const BROADCAST: &str = "chatcode:hubs";

/// Why a Redis operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Redis answered with an error or could not be reached.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The hub's subscription is not up (Redis away).
    #[error("not subscribed to redis")]
    NotReady,
}

/// A browser on this hub whose gateway another hub holds.
pub struct Bridge {
    /// Its socket's queue.
    pub outbox: Outbox,
    /// The hub holding its gateway.
    pub owner: String,
    /// Its gateway.
    pub gateway_id: String,
}

/// A browser of another hub attached to a gateway this hub holds.
pub struct Remote {
    /// What its hub forwards, read by its subscriber task.
    pub input: mpsc::Sender<Result<axum::extract::ws::Message, std::convert::Infallible>>,
    /// Its queue, a part of its hub's ([`fanout`]).
    pub outbox: Outbox,
}

/// This hub's membership of the cluster.
pub struct Cluster {
    /// This hub's id (unique per process).
    pub id: String,
    conn: ConnectionManager,
    client: redis::Client,
    ready: watch::Sender<bool>,
    lease: Duration,
    bridges: Mutex<HashMap<u64, Bridge>>,
    remotes: Mutex<HashMap<(String, u64), Remote>>,
    /// What goes to each other hub's browsers, by hub.
    peer_queues: Mutex<HashMap<String, Arc<fanout::PeerQueue>>>,
    relays: Mutex<HashMap<u64, oneshot::Sender<(u16, Bytes)>>>,
    /// Gateways this hub holds, with the number of its claim.
    owned: Mutex<HashMap<String, u64>>,
    marks: [AtomicU64; MARK_BUCKETS],
    relay_ids: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The key naming the hub that holds `gateway_id`.
pub fn gateway_key(gateway_id: &str) -> String {
    format!("chatcode:gateway:{gateway_id}")
}

/// The counter of claims on `gateway_id`: each claim's number orders it against the others.
pub fn claims_key(gateway_id: &str) -> String {
    format!("{}:claims", gateway_key(gateway_id))
}

/// The liveness key of hub `id`.
pub fn hub_key(id: &str) -> String {
    format!("chatcode:hub:{id}")
}

/// The inbox channel of hub `id`.
pub fn inbox(id: &str) -> String {
    format!("chatcode:hub:{id}:inbox")
}

impl Cluster {
    /// Membership through the Redis at `url` (connected lazily; [`inbox::listen`] subscribes),
    /// with claims lasting `lease`.
    pub fn new(url: &str, lease: Duration) -> Result<Arc<Self>, ClusterError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_max_delay(Duration::from_secs(2));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(Arc::new(Self {
            id: new_hub_id(),
            conn,
            client,
            ready: watch::channel(false).0,
            lease,
            bridges: Mutex::new(HashMap::new()),
            remotes: Mutex::new(HashMap::new()),
            peer_queues: Mutex::new(HashMap::new()),
            relays: Mutex::new(HashMap::new()),
            owned: Mutex::new(HashMap::new()),
            marks: std::array::from_fn(|_| AtomicU64::new(0)),
            relay_ids: AtomicU64::new(1),
        }))
    }

    /// A connection, once this hub's subscription is up.
    async fn conn(&self) -> Result<ConnectionManager, ClusterError> {
        let mut ready = self.ready.subscribe();
        match tokio::time::timeout(READY_WAIT, ready.wait_for(|up| *up)).await {
            Ok(Ok(_)) => Ok(self.conn.clone()),
            _ => Err(ClusterError::NotReady),
        }
    }

    /// Publishes `header` and `body` on `channel`.
    async fn publish_on(
        &self,
        channel: &str,
        header: &Header,
        body: &[u8],
    ) -> Result<(), ClusterError> {
        let mut conn = self.conn().await?;
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(wire::encode(header, body))
            .query_async::<i64>(&mut conn)
            .await?;
        Ok(())
    }

    /// Sends `header` and `body` to hub `hub`'s inbox.
    pub async fn send(&self, hub: &str, header: &Header, body: &[u8]) -> Result<(), ClusterError> {
        self.publish_on(&inbox(hub), header, body).await
    }

    /// Sends `header` and `body` to every hub, this one included.
    pub async fn broadcast(&self, header: &Header, body: &[u8]) -> Result<(), ClusterError> {
        self.publish_on(BROADCAST, header, body).await
    }

    /// The live hub other than this one that holds `gateway_id`, if any.
    pub async fn remote_owner(&self, gateway_id: &str) -> Result<Option<String>, ClusterError> {
        let mut conn = self.conn().await?;
        let owner: Option<String> = redis::cmd("GET")
            .arg(gateway_key(gateway_id))
            .query_async(&mut conn)
            .await?;
        let Some(owner) = owner.filter(|owner| *owner != self.id) else {
            return Ok(None);
        };
        let alive: bool = redis::cmd("EXISTS")
            .arg(hub_key(&owner))
            .query_async(&mut conn)
            .await?;
        Ok(alive.then_some(owner))
    }

    /// A mark to hand to [`Cluster::claimed_since`]: whether a claim of `gateway_id` arrived in
    /// between (a few unrelated gateways share a counter, which only costs a reconnect).
    pub fn claim_mark(&self, gateway_id: &str) -> u64 {
        self.marks[bucket(gateway_id)].load(Ordering::Acquire)
    }

    /// Whether a claim of `gateway_id` (or of a gateway sharing its counter) arrived since
    /// `mark`.
    pub fn claimed_since(&self, gateway_id: &str, mark: u64) -> bool {
        self.claim_mark(gateway_id) != mark
    }

    fn note_claim(&self, gateway_id: &str) {
        self.marks[bucket(gateway_id)].fetch_add(1, Ordering::AcqRel);
    }

    /// Registers a bridged browser.
    pub fn add_bridge(&self, id: u64, bridge: Bridge) {
        lock(&self.bridges).insert(id, bridge);
    }

    /// Forgets a bridged browser.
    pub fn remove_bridge(&self, id: u64) -> Option<Bridge> {
        lock(&self.bridges).remove(&id)
    }

    /// Closes (with `code`) and forgets the bridged browsers `which` picks.
    pub fn close_bridges(&self, which: impl Fn(&Bridge) -> bool, code: u16, reason: &str) {
        lock(&self.bridges).retain(|_, bridge| {
            let hit = which(bridge);
            if hit {
                bridge.outbox.close(code, reason);
            }
            !hit
        });
    }

    /// Registers a browser of another hub; false at the cap.
    fn add_remote(&self, key: (String, u64), remote: Remote) -> bool {
        let mut remotes = lock(&self.remotes);
        if remotes.len() >= MAX_REMOTES {
            return false;
        }
        remotes.insert(key, remote);
        true
    }

    /// Forgets a browser of another hub (its task ends once its input is dropped).
    fn remove_remote(&self, key: &(String, u64)) -> Option<Remote> {
        lock(&self.remotes).remove(key)
    }

    /// Closes (with `code`) and forgets the browsers of other hubs `which` picks.
    fn close_remotes(&self, which: impl Fn(&str) -> bool, code: u16, reason: &str) {
        lock(&self.remotes).retain(|(hub, _), remote| {
            let hit = which(hub);
            if hit {
                remote.outbox.close(code, reason);
            }
            !hit
        });
    }

    /// The hubs this one bridges browsers to or serves browsers of.
    fn peers(&self) -> Vec<String> {
        let mut peers: Vec<String> = lock(&self.bridges)
            .values()
            .map(|b| b.owner.clone())
            .collect();
        peers.extend(lock(&self.remotes).keys().map(|(hub, _)| hub.clone()));
        peers.sort();
        peers.dedup();
        peers
    }

    /// A new relay awaiting another hub's answer; `None` when too many are.
    pub fn begin_relay(&self) -> Option<(u64, oneshot::Receiver<(u16, Bytes)>)> {
        let mut relays = lock(&self.relays);
        relays.retain(|_, waiting| !waiting.is_closed());
        if relays.len() >= MAX_PENDING_RELAYS {
            return None;
        }
        let id = self.relay_ids.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        relays.insert(id, tx);
        Some((id, rx))
    }

    /// Hands relay `id` its answer.
    fn finish_relay(&self, id: u64, status: u16, body: Bytes) {
        if let Some(waiting) = lock(&self.relays).remove(&id) {
            let _ = waiting.send((status, body));
        }
    }

    /// Gateways this hub holds.
    pub fn owned_count(&self) -> usize {
        lock(&self.owned).len()
    }
}

fn bucket(gateway_id: &str) -> usize {
    let hash = gateway_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    usize::try_from(hash % MARK_BUCKETS as u64).unwrap_or(0)
}

/// A random id for this hub.
fn new_hub_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = (u64::from(std::process::id()) ^ (nanos as u64)).to_be_bytes();
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("hub-{hex}")
}
