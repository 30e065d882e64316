//! `chatcode-hub`: the hub as a standalone service next to a Spin app.
#![forbid(unsafe_code)]

use std::net::SocketAddr;

use anyhow::Context;
use chatcode_hub::HubConfig;
use clap::Parser;

/// chatcode hub: gateway and browser WebSockets, command relay.
#[derive(Debug, Parser)]
#[command(name = "chatcode-hub", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// The app's base URL, where its /internal/* routes answer.
    #[arg(
        long,
        env = "CHATCODE_APP_URL",
        default_value = "http://127.0.0.1:3000"
    )]
    app_url: String,
    /// The shared secret of the app's internal routes and of attach tickets (the app's
    /// `hub_secret` variable).
    #[arg(long, env = "HUB_SECRET", hide_env_values = true)]
    hub_secret: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    anyhow::ensure!(
        !args.hub_secret.is_empty(),
        "--hub-secret must not be empty"
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let serving = chatcode_hub::serve(HubConfig::new(args.app_url, args.hub_secret), listener)?;
    println!("Hub listening on http://{}", serving.addr);
    shutdown_signal().await;
    serving.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
