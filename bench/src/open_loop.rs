//! An open-loop request driver: each request starts on its tick at a fixed rate, whatever the
//! earlier ones are doing, so a slow answer cannot hide the queueing it causes.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use anyhow::Context;
use tokio::{task::JoinSet, time::MissedTickBehavior};

/// Calls `request(n)` for n = 0, 1, … `rate` times a second for `duration`; returns each
/// request's latency, or the first request's error.
pub async fn drive<F, Fut>(
    rate: u32,
    duration: Duration,
    request: F,
) -> anyhow::Result<Vec<Duration>>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let period = Duration::from_secs(1) / rate.max(1);
    let count = (duration.as_secs_f64() * f64::from(rate)).ceil() as u64;
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut requests = JoinSet::new();
    for n in 0..count {
        ticker.tick().await;
        let sent = request(n);
        requests.spawn(async move {
            let started = Instant::now();
            sent.await?;
            Ok::<_, anyhow::Error>(started.elapsed())
        });
    }
    let mut took = Vec::with_capacity(requests.len());
    while let Some(joined) = requests.join_next().await {
        took.push(joined.context("a request task panicked")??);
    }
    Ok(took)
}
