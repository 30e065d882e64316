//! `chatcode-hub`: the hub as a standalone service next to a Spin app.
#![forbid(unsafe_code)]

use chatcode_hub::cli::HubArgs;
use clap::Parser;

// mimalloc: per-request instances and per-socket buffers allocate and free in bursts that
// glibc's allocator serves measurably slower (see bench/).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// chatcode hub: gateway and browser WebSockets, command relay.
#[derive(Debug, Parser)]
#[command(name = "chatcode-hub", version)]
struct Cli {
    #[command(flatten)]
    hub: HubArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    Cli::parse().hub.run().await
}
