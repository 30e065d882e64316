//! Who holds what, in Redis: a hub claims a gateway when it links (`chatcode:gateway:<id>` →
//! hub id, with a lease) and tells every hub; it refreshes its claims, its liveness key
//! (`chatcode:hub:<id>`) and the record of what it holds (`chatcode:hub:<id>:gateways`) while
//! it lives, so a dead hub's lapse (its record last, for [`super::reaper`]). It also drops the
//! bridges and remote browsers of peers whose liveness lapsed.

use std::{collections::HashMap, sync::Arc};

use serde_json::json;
use tokio::sync::watch;

use super::{
    Cluster, ClusterError, claims_key, gateway_key, hub_key, lock, reaper::record_key, wire::Header,
};
use crate::{hub::Hub, outbox::close};

/// Sets a claim only if it is still this hub's (1), or again if it lapsed (2: Redis lost it,
/// or this hub was late), then keeping the claim counter (KEYS[2]) at least this claim's
/// number; 0 if another hub holds it now: a hub that missed another's claim learns here that
/// it lost it.
const REFRESH_CLAIM: &str = "local v = redis.call('GET', KEYS[1]) \
    if v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end \
    if v ~= false then return 0 end \
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) \
    local n = tonumber(redis.call('GET', KEYS[2]) or '0') \
    if n < tonumber(ARGV[3]) then redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4]) end \
    return 2";

/// How long a gateway's claim counter is kept after its last claim.
const CLAIM_COUNTER_MS: u64 = 24 * 3600 * 1000;

impl Cluster {
    pub(super) fn lease_ms(&self) -> u64 {
        u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX)
    }

    /// Claims `gateway_id` for this hub (it just linked here) and tells every hub, whose
    /// browsers and bridges for it then reconnect to this one.
    pub async fn claim(&self, gateway_id: &str) -> Result<(), ClusterError> {
        let mut conn = self.conn().await?;
        let counter = claims_key(gateway_id);
        let (n,): (u64,) = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg(&counter)
            .cmd("PEXPIRE")
            .arg(&counter)
            .arg(CLAIM_COUNTER_MS)
            .ignore()
            .cmd("SET")
            .arg(gateway_key(gateway_id))
            .arg(&self.id)
            .arg("PX")
            .arg(self.lease_ms())
            .ignore()
            .query_async(&mut conn)
            .await?;
        lock(&self.owned).insert(gateway_id.to_owned(), n);
        let claimed = Header::Claimed {
            hub: self.id.clone(),
            gateway_id: gateway_id.to_owned(),
            n,
        };
        self.broadcast(&claimed, &[]).await
    }

    /// Whether a hub other than this one is alive.
    pub async fn other_hubs_alive(&self) -> Result<bool, ClusterError> {
        let mut conn = self.conn().await?;
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(hub_key("*"))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await?;
            let other = |key: &String| {
                key.strip_prefix(&hub_key(""))
                    .is_some_and(|id| !id.contains(':') && id != self.id)
            };
            if keys.iter().any(other) {
                return Ok(true);
            }
            if next == 0 {
                return Ok(false);
            }
            cursor = next;
        }
    }

    /// Hub `hub` claimed `gateway_id` (claim `n`): bridges to any other hub reconnect; if it is
    /// another hub and the claim is newer than this hub's, this hub lets the gateway go (its
    /// socket closed as replaced, its browsers told to reconnect, nothing recorded offline).
    pub fn claimed(&self, hub: &Hub, claimer: &str, gateway_id: &str, n: u64) {
        self.note_claim(gateway_id);
        self.close_bridges(
            |b| b.gateway_id == gateway_id && b.owner != claimer,
            close::SERVICE_RESTART,
            "the gateway moved to another hub",
        );
        if claimer == self.id {
            return;
        }
        {
            let mut owned = lock(&self.owned);
            if owned.get(gateway_id).is_some_and(|mine| *mine > n) {
                return;
            }
            owned.remove(gateway_id);
        }
        if let Some(gateway) = hub.existing(gateway_id) {
            gateway.hand_off(close::SERVICE_RESTART, "the gateway moved to another hub");
        }
    }

    /// One round of upkeep: liveness, the record of held gateways, claims (a lost one is let
    /// go), and peers (those whose liveness lapsed lose their bridges and remote browsers).
    async fn refresh(&self, hub: &Hub) -> Result<(), ClusterError> {
        let record_ms = self.record_ms(hub.config.timers.gateway_grace);
        let mut conn = self.conn().await?;
        let held: Vec<(String, u64)> = {
            let mut owned = lock(&self.owned);
            owned.retain(|id, _| hub.existing(id).is_some_and(|g| g.holds_claim()));
            owned.iter().map(|(id, n)| (id.clone(), *n)).collect()
        };
        let record = record_key(&self.id);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(hub_key(&self.id))
            .arg(json!({ "gateways": held.len() }).to_string())
            .arg("PX")
            .arg(self.lease_ms())
            .ignore()
            .cmd("DEL")
            .arg(&record)
            .ignore();
        if !held.is_empty() {
            let ids: Vec<&str> = held.iter().map(|(id, _)| id.as_str()).collect();
            pipe.cmd("SADD").arg(&record).arg(&ids).ignore();
            pipe.cmd("PEXPIRE").arg(&record).arg(record_ms).ignore();
        }
        pipe.query_async::<()>(&mut conn).await?;
        for (gateway_id, n) in held {
            let kept: i64 = redis::cmd("EVAL")
                .arg(REFRESH_CLAIM)
                .arg(2)
                .arg(gateway_key(&gateway_id))
                .arg(claims_key(&gateway_id))
                .arg(&self.id)
                .arg(self.lease_ms())
                .arg(n)
                .arg(CLAIM_COUNTER_MS)
                .query_async(&mut conn)
                .await?;
            match kept {
                0 => {
                    tracing::info!(gateway_id, "another hub holds this gateway now");
                    lock(&self.owned).remove(&gateway_id);
                    if let Some(gateway) = hub.existing(&gateway_id) {
                        gateway
                            .hand_off(close::SERVICE_RESTART, "the gateway moved to another hub");
                    }
                }
                // Claimed again: hubs that took it for unclaimed meanwhile (and answered its
                // browsers themselves) send them here, as after a first claim.
                2 => {
                    tracing::info!(gateway_id, "claimed again after the claim lapsed");
                    let claimed = Header::Claimed {
                        hub: self.id.clone(),
                        gateway_id,
                        n,
                    };
                    self.broadcast(&claimed, &[]).await?;
                }
                _ => {}
            }
        }
        let peers = self.peers();
        let mut alive = HashMap::new();
        for peer in peers {
            let live: bool = redis::cmd("EXISTS")
                .arg(hub_key(&peer))
                .query_async(&mut conn)
                .await?;
            alive.insert(peer, live);
        }
        let dead = |hub: &str| !alive.get(hub).copied().unwrap_or(true);
        let reason = "the other hub went away";
        self.close_bridges(|b| dead(&b.owner), close::SERVICE_RESTART, reason);
        self.close_remotes(dead, close::SERVICE_RESTART, reason);
        Ok(())
    }

    /// Closes every bridge and remote browser: this hub cannot reach Redis, so none of them
    /// would work; their browsers reconnect.
    pub(super) fn drop_all(&self, reason: &str) {
        self.close_bridges(|_| true, close::SERVICE_RESTART, reason);
        self.close_remotes(|_| true, close::SERVICE_RESTART, reason);
    }
}

/// Refreshes this hub's claims and liveness until `stop`, and takes up dead hubs' gateways;
/// while Redis fails, bridges close.
pub async fn upkeep(hub: Arc<Hub>, cluster: Arc<Cluster>, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(hub.config.timers.claim_refresh);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        if let Err(e) = cluster.refresh(&hub).await {
            tracing::warn!("cannot refresh this hub's claims in redis: {e}");
            cluster.drop_all("this hub lost its redis");
        } else if let Err(e) = cluster.reap(&hub).await {
            tracing::warn!("cannot look for dead hubs in redis: {e}");
        }
    }
    // Going away: let the claims lapse at once, so gateways find another hub's claim fresh.
    if let Ok(mut conn) = cluster.conn().await {
        let held: Vec<String> = lock(&cluster.owned)
            .keys()
            .map(|id| gateway_key(id))
            .collect();
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(hub_key(&cluster.id)).ignore();
        for key in held {
            pipe.cmd("EVAL")
                .arg("if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end")
                .arg(1)
                .arg(key)
                .arg(&cluster.id)
                .ignore();
        }
        let _ = pipe.query_async::<()>(&mut conn).await;
    }
}
