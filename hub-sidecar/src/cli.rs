//! The hub's command line, shared by `chatcode-hub` and `chatcode hub`: its flags (each also
//! read from the environment) and running until SIGINT or SIGTERM.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;

use crate::{HubConfig, serve, serve_tls, tls};

/// chatcode hub: gateway and browser WebSockets, command relay.
#[derive(Debug, clap::Args)]
pub struct HubArgs {
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
    /// Sockets (gateways and browsers) open at once; an upgrade past it answers 503.
    #[arg(long, env = "HUB_MAX_SOCKETS", default_value_t = crate::Limits::default().sockets)]
    max_sockets: usize,
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
    /// Several hubs behind one address: the Redis they share (`redis://host:port`). Each hub
    /// records there which gateways it holds (keys that expire unless refreshed, so a dead
    /// hub's lapse) and carries browsers' terminals to the hub holding their gateway over
    /// pub/sub. Without it the hub works alone and makes no Redis call.
    #[arg(long, env = "CHATCODE_HUB_REDIS_URL", value_name = "URL")]
    redis_url: Option<String>,
}

impl HubArgs {
    /// Serves until SIGINT or SIGTERM, then closes every socket (1001). Prints `Hub listening
    /// on http(s)://ADDR` once it serves.
    pub async fn run(self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.hub_secret.is_empty(),
            "--hub-secret must not be empty"
        );
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(tls::load_server_config(cert, key)?),
            _ => None,
        };
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .with_context(|| format!("listening on {}", self.listen))?;
        let mut config = HubConfig::new(self.app_url, self.hub_secret);
        config.limits.sockets = self.max_sockets;
        config.redis_url = self.redis_url.filter(|url| !url.is_empty());
        let (serving, scheme) = match tls {
            Some(tls) => (serve_tls(config, listener, tls)?, "https"),
            None => (serve(config, listener)?, "http"),
        };
        let shutdown = shutdown_signal();
        println!("Hub listening on {scheme}://{}", serving.addr);
        shutdown.await;
        serving.shutdown().await;
        Ok(())
    }
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
