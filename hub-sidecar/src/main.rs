//! `chatcode-hub`: the hub as a standalone service next to a Spin app.
#![forbid(unsafe_code)]

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use chatcode_hub::HubConfig;
use clap::Parser;

// mimalloc: per-request instances and per-socket buffers allocate and free in bursts that
// glibc's allocator serves measurably slower (see bench/).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// PEM certificate chain (leaf first): serve HTTPS and `wss://` instead of plain HTTP.
    /// Needs --tls-key.
    #[arg(
        long,
        env = "CHATCODE_HUB_TLS_CERT",
        value_name = "PATH",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(
        long,
        env = "CHATCODE_HUB_TLS_KEY",
        value_name = "PATH",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
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
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(chatcode_hub::tls::load_server_config(cert, key)?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let config = HubConfig::new(args.app_url, args.hub_secret);
    let (serving, scheme) = match tls {
        Some(tls) => (chatcode_hub::serve_tls(config, listener, tls)?, "https"),
        None => (chatcode_hub::serve(config, listener)?, "http"),
    };
    let shutdown = shutdown_signal();
    println!("Hub listening on {scheme}://{}", serving.addr);
    shutdown.await;
    serving.shutdown().await;
    Ok(())
}

/// Listens for SIGINT (Ctrl-C) and, on Unix, SIGTERM from the moment it is called, and
/// resolves on the first of them. Call it before announcing that the process serves: a signal
/// that arrives before the listeners exist takes the default action and kills the process.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let listeners = signal(SignalKind::interrupt()).and_then(|interrupt| {
            signal(SignalKind::terminate()).map(|terminate| (interrupt, terminate))
        });
        async move {
            match listeners {
                Ok((mut interrupt, mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
