//! A dead hub's gateways: a hub that dies leaves the app with its gateways recorded connected.
//! Its record of held gateways (`chatcode:hub:<id>:gateways`) outlives its liveness key, so a
//! surviving hub, elected with `SET NX PX`, waits out the gateway grace and tells the app each
//! gateway nobody claimed since went offline, as the dead hub would have, then deletes the
//! record.

use std::{collections::HashMap, sync::Arc};

use chatcode_core::{hub_events::HubEvent, time::now_ms};
use redis::aio::ConnectionManager;

use super::{Cluster, ClusterError, claims_key, gateway_key, hub_key};
use crate::{event_queue::Source, hub::Hub};

/// The key of hub `id`'s record of held gateways.
pub fn record_key(id: &str) -> String {
    format!("{}:gateways", hub_key(id))
}

/// The key a surviving hub sets to take up hub `id`'s gateways.
fn reaper_key(id: &str) -> String {
    format!("{}:reaper", hub_key(id))
}

fn ms(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Cluster {
    /// How long a hub's record of held gateways outlives its last refresh: past its liveness,
    /// the wait for an election and the grace, twice over.
    pub(super) fn record_ms(&self, grace: std::time::Duration) -> u64 {
        (self.lease_ms() + ms(grace)).saturating_mul(2)
    }

    /// Looks for records of hubs whose liveness lapsed; takes up those it is elected for.
    pub(super) async fn reap(self: &Arc<Self>, hub: &Arc<Hub>) -> Result<(), ClusterError> {
        let mut conn = self.conn().await?;
        let grace = hub.config.timers.gateway_grace;
        for dead in self.dead_hubs(&mut conn).await? {
            let elected: Option<String> = redis::cmd("SET")
                .arg(reaper_key(&dead))
                .arg(&self.id)
                .arg("NX")
                .arg("PX")
                .arg(ms(grace) + 2 * self.lease_ms())
                .query_async(&mut conn)
                .await?;
            if elected.is_none() {
                continue;
            }
            tracing::info!(hub = %dead, "another hub went away: taking up its gateways");
            let marks = claim_counts(&mut conn, &dead).await?;
            let (cluster, hub) = (self.clone(), hub.clone());
            tokio::spawn(async move {
                let gone_at = now_ms();
                tokio::time::sleep(grace).await;
                if let Err(e) = cluster.offline(&hub, &dead, marks, gone_at).await {
                    tracing::warn!(hub = %dead, "cannot take up a dead hub's gateways: {e}");
                }
            });
        }
        Ok(())
    }

    /// Hubs other than this one with a record of gateways but no liveness.
    async fn dead_hubs(&self, conn: &mut ConnectionManager) -> Result<Vec<String>, ClusterError> {
        let mut dead = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(record_key("*"))
                .arg("COUNT")
                .arg(1000)
                .query_async(conn)
                .await?;
            for key in keys {
                let Some(id) = key
                    .strip_prefix(&hub_key(""))
                    .and_then(|rest| rest.strip_suffix(":gateways"))
                else {
                    continue;
                };
                if id == self.id || id.contains(':') {
                    continue;
                }
                let alive: bool = redis::cmd("EXISTS")
                    .arg(hub_key(id))
                    .query_async(conn)
                    .await?;
                if !alive {
                    dead.push(id.to_owned());
                }
            }
            if next == 0 {
                return Ok(dead);
            }
            cursor = next;
        }
    }

    /// After the grace: records offline each gateway of `dead`'s record that nobody claimed
    /// since `marks` and no live hub holds, then deletes the record.
    async fn offline(
        &self,
        hub: &Hub,
        dead: &str,
        marks: HashMap<String, u64>,
        gone_at: i64,
    ) -> Result<(), ClusterError> {
        let mut conn = self.conn().await?;
        let now = claim_counts(&mut conn, dead).await?;
        for (gateway_id, mark) in marks {
            if now.get(&gateway_id).is_some_and(|n| *n != mark) {
                continue;
            }
            let holder: Option<String> = redis::cmd("GET")
                .arg(gateway_key(&gateway_id))
                .query_async(&mut conn)
                .await?;
            if let Some(holder) = holder.filter(|holder| holder != dead) {
                let alive: bool = redis::cmd("EXISTS")
                    .arg(hub_key(&holder))
                    .query_async(&mut conn)
                    .await?;
                if alive {
                    continue;
                }
            }
            tracing::info!(gateway_id, hub = %dead, "recording a dead hub's gateway offline");
            let gateway = hub.gateway(&gateway_id);
            let gone = HubEvent::Disconnected { at: gone_at };
            hub.recorder.record(&gateway, gone, Source::Hub);
        }
        redis::cmd("DEL")
            .arg(record_key(dead))
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }
}

/// The gateways in hub `id`'s record, each with its count of claims so far.
async fn claim_counts(
    conn: &mut ConnectionManager,
    id: &str,
) -> Result<HashMap<String, u64>, ClusterError> {
    let gateways: Vec<String> = redis::cmd("SMEMBERS")
        .arg(record_key(id))
        .query_async(conn)
        .await?;
    let mut counts = HashMap::new();
    for gateway_id in gateways {
        let n: Option<u64> = redis::cmd("GET")
            .arg(claims_key(&gateway_id))
            .query_async(conn)
            .await?;
        counts.insert(gateway_id, n.unwrap_or(0));
    }
    Ok(counts)
}
