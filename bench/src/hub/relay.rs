//! P4: the command relay's latency at a fixed request rate (open loop: each request starts on
//! its tick, whatever the earlier ones are doing).

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use serde_json::json;
use tokio::{task::JoinSet, time::MissedTickBehavior};

use super::{GATEWAY_ID, HUB_SECRET};

/// `POST /internal/gateways/:id/commands` with a `session.resize` for `session_id`, `rate`
/// times a second for `duration`; every answer must be a 200 with an ok `ack`. Returns each
/// request's latency.
pub async fn measure(
    http: &reqwest::Client,
    addr: SocketAddr,
    session_id: &str,
    rate: u32,
    duration: Duration,
) -> anyhow::Result<Vec<Duration>> {
    let url = format!("http://{addr}/internal/gateways/{GATEWAY_ID}/commands");
    let counter = Arc::new(AtomicU64::new(0));
    let target = Shot {
        http: http.clone(),
        url,
        session_id: session_id.to_owned(),
        counter,
    };
    fire(&target, rate, duration).await
}

#[derive(Clone)]
struct Shot {
    http: reqwest::Client,
    url: String,
    session_id: String,
    counter: Arc<AtomicU64>,
}

async fn fire(shot: &Shot, rate: u32, duration: Duration) -> anyhow::Result<Vec<Duration>> {
    let period = Duration::from_secs(1) / rate.max(1);
    let count = (duration.as_secs_f64() * f64::from(rate)).ceil() as u64;
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut requests = JoinSet::new();
    for _ in 0..count {
        ticker.tick().await;
        let shot = shot.clone();
        requests.spawn(async move {
            let started = Instant::now();
            shot.once().await?;
            Ok::<_, anyhow::Error>(started.elapsed())
        });
    }
    let mut took = Vec::with_capacity(requests.len());
    while let Some(joined) = requests.join_next().await {
        took.push(joined.context("a request task panicked")??);
    }
    Ok(took)
}

impl Shot {
    async fn once(&self) -> anyhow::Result<()> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let command = json!({
            "type": "session.resize",
            "schema_version": "1",
            "request_id": format!("bench-{}-{n}", std::process::id()),
            "session_id": self.session_id,
            "cols": 120,
            "rows": 40,
        });
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(HUB_SECRET)
            .json(&command)
            .send()
            .await
            .context("relay request failed")?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.context("relay answer")?;
        anyhow::ensure!(
            status == reqwest::StatusCode::OK && body["ack"]["ok"] == true,
            "relay answered {status}: {body}"
        );
        Ok(())
    }
}
