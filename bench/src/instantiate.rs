//! Per-request instantiation cost: a fresh store and instance, nothing else.

use std::time::{Duration, Instant};

use chatcode_runtime::{Runtime, RuntimeOptions};

/// Instantiation latencies.
pub struct Instantiation {
    /// Samples taken.
    pub count: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
}

/// Instantiates the `probe` component `samples` times.
pub async fn measure(options: &RuntimeOptions, samples: usize) -> anyhow::Result<Instantiation> {
    let options = options.clone();
    let runtime = tokio::task::spawn_blocking(move || Runtime::load(&options)).await??;
    let component = runtime
        .app()
        .components
        .get("probe")
        .ok_or_else(|| anyhow::anyhow!("no probe component"))?;
    let mut latencies = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        let mut store = component.new_store(runtime.engine(), &runtime.app().stores);
        store.set_epoch_deadline(1000);
        component
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        latencies.push(started.elapsed());
    }
    latencies.sort_unstable();
    Ok(Instantiation {
        count: samples,
        p50: latencies[samples / 2],
        p99: latencies[samples * 99 / 100],
    })
}
