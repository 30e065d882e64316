//! `chatcode-runtime`: serve a Spin app (`spin.toml`) like `spin up` does.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use chatcode_runtime::{Runtime, RuntimeOptions};
use clap::Parser;

// mimalloc: per-request instances and per-socket buffers allocate and free in bursts that
// glibc's allocator serves measurably slower (see bench/).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Serve a Spin application's HTTP components on the embedded runtime.
#[derive(Debug, Parser)]
#[command(name = "chatcode-runtime", version)]
struct Args {
    /// The application manifest.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    manifest: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// State directory for key-value, SQLite and logs (Spin's --state-dir).
    #[arg(long, alias = "state-dir")]
    data_dir: Option<PathBuf>,
    /// Spin's runtime config: the `default` key-value store on Redis
    /// (`[key_value_store.default] type = "redis"`), the `default` database on libSQL
    /// (`[sqlite_database.default] type = "libsql"`).
    #[arg(long)]
    runtime_config_file: Option<PathBuf>,
    /// Where compiled components are cached [default: <data-dir>/cache].
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Set an application variable (repeatable): NAME=VALUE.
    #[arg(long = "variable", value_parser = chatcode_runtime::cli::parse_assignment)]
    variables: Vec<(String, String)>,
    /// Concurrent component instances; past it requests answer 503.
    #[arg(long, env = "SPIN_MAX_INSTANCE_COUNT", default_value_t = 1000)]
    max_instances: u32,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 10 << 20)]
    max_body_bytes: usize,
    /// Seconds a component may take to respond.
    #[arg(long, default_value_t = 60)]
    request_timeout: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    chatcode_runtime::cli::init_logging();
    let args = Args::parse();
    let mut options = RuntimeOptions::new(args.manifest);
    options.data_dir = args.data_dir;
    options.cache_dir = args.cache_dir;
    options.runtime_config = args.runtime_config_file;
    options.variables = args.variables.into_iter().collect::<BTreeMap<_, _>>();
    options.environment = std::env::vars().collect();
    options.max_instances = args.max_instances;
    options.max_body_bytes = args.max_body_bytes;
    options.request_timeout = Duration::from_secs(args.request_timeout);

    let runtime = Runtime::load(&options)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let serving = runtime.serve(listener)?;
    let shutdown = chatcode_runtime::cli::shutdown_signal();
    println!("Serving http://{}", serving.local_addr());
    shutdown.await;
    tracing::info!("shutting down");
    serving.shutdown().await;
    Ok(())
}
