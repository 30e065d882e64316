//! `chatcode`: the local launcher.
//!
//! `chatcode up` builds the components, generates development secrets, serves
//! the app on the embedded runtime with the hub next to it (its WebSocket endpoints on the
//! same port), applies migrations, and prints `Serving http://ADDR` once it answers.
//! `chatcode hub` runs the hub alone, next to an app served elsewhere (as `chatcode-hub`).
#![forbid(unsafe_code)]

mod dev_secrets;
mod front;
mod up;

use clap::{Parser, Subcommand};

// mimalloc: per-request instances and per-socket buffers allocate and free in bursts that
// glibc's allocator serves measurably slower (see bench/).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// chatcode control plane: run it locally.
#[derive(Debug, Parser)]
#[command(name = "chatcode", version)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Build the components and serve the whole system locally.
    Up(up::UpArgs),
    /// Run the hub alone, next to an app served elsewhere.
    Hub(chatcode_hub::cli::HubArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    chatcode_runtime::cli::init_logging();
    match Cli::parse().command {
        Commands::Up(args) => up::run(args).await,
        Commands::Hub(args) => args.run().await,
    }
}
