//! The wasmtime engine: pooling allocator, epoch interruption, compile cache.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

use anyhow::Context;
use wasmtime::{
    Cache, CacheConfig, Config, Enabled, Engine, InstanceAllocationStrategy,
    PoolingAllocationConfig,
};

/// How often the epoch advances; per-request deadlines count these ticks (as Spin).
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How much of a reused memory or table slot stays mapped between instances.
const KEEP_RESIDENT_BYTES: usize = 4 << 20;

/// Set (to anything) to have `perf` name the guests' compiled functions.
const PERFMAP_VAR: &str = "CHATCODE_PERFMAP";

/// Largest linear memory one instance may grow to.
const MAX_MEMORY_BYTES: usize = 256 << 20;

/// Builds the engine shared by every component of the app.
///
/// `max_instances` sizes the pooling allocator: that many instances (those of
/// running requests and the components' spares) can live at once. `cache_dir`
/// keeps compiled code keyed by the content hash of the `.wasm` and the engine
/// settings, so a restart does not recompile.
pub fn new_engine(max_instances: u32, cache_dir: Option<&Path>) -> anyhow::Result<Engine> {
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(max_instances)
        .total_core_instances(max_instances.saturating_mul(4))
        .total_memories(max_instances.saturating_mul(2))
        .total_tables(max_instances.saturating_mul(4))
        .total_stacks(max_instances)
        .max_memory_size(MAX_MEMORY_BYTES)
        .max_core_instances_per_component(32)
        .max_memories_per_component(4)
        .max_tables_per_component(8)
        .max_component_instance_size(1 << 20)
        .max_core_instance_size(2 << 20)
        .table_elements(100_000)
        .max_unused_warm_slots(max_instances.min(100))
        // Reuse slots without page faults: keep their pages mapped and reset
        // only the dirty ones (found with PAGEMAP_SCAN where the kernel has it).
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES);

    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        // Memory slots keep wasmtime's default 4 GiB reservation, which lets
        // compiled code skip bounds checks; it is address space, not memory.
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    // For `perf`: name the compiled guest functions in /tmp/perf-<pid>.map.
    if std::env::var_os(PERFMAP_VAR).is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if let Some(dir) = cache_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut cache = CacheConfig::new();
        cache.with_directory(dir);
        config.cache(Some(
            Cache::new(cache)
                .map_err(wasmtime_error)
                .context("opening the compile cache")?,
        ));
    }
    Engine::new(&config)
        .map_err(wasmtime_error)
        .context("creating the wasmtime engine")
}

/// Converts wasmtime's own error type (not `std::error::Error`) keeping its chain.
pub fn wasmtime_error(e: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
#[derive(Debug)]
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    /// Starts the ticker thread.
    pub fn start(engine: &Engine) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.weak();
        let flag = stop.clone();
        thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    thread::sleep(EPOCH_TICK);
                    match engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .context("starting the epoch ticker")?;
        Ok(Self { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
