//! `chatcode-gateway-sim`: runs one simulated gateway until SIGINT or SIGTERM.

use std::time::Duration;

use anyhow::Context as _;
use chatcode_gateway_sim::{GatewaySim, SimConfig, parse_env_file, parse_interval};
use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

/// A simulated chatcode gateway: dials the control plane like the real gateway daemon and runs
/// a toy shell in each session.
///
/// Settings come from flags, else from the environment, else from `--env-file` (the
/// `/etc/chatcode/gateway.env` that cloud-init writes). Durations are seconds (`30`) or
/// `500ms`/`30s`/`2m`.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// A `KEY=VALUE` env file to read the GATEWAY_* settings from.
    #[arg(long, value_name = "PATH")]
    env_file: Option<std::path::PathBuf>,
    /// Control plane URL to dial (ws:// or wss://…/gw/connect).
    #[arg(long, env = "GATEWAY_CP_URL", value_name = "URL")]
    cp_url: Option<String>,
    /// Gateway id, sent as X-Gateway-Id ([A-Za-z0-9_-]+).
    #[arg(long, env = "GATEWAY_ID", value_name = "ID")]
    gateway_id: Option<String>,
    /// Auth token, sent as `Authorization: Bearer <token>`.
    #[arg(long, env = "GATEWAY_AUTH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Time between gateway.health reports [default: 30s].
    #[arg(long, env = "GATEWAY_HEALTH_INTERVAL", value_name = "DURATION")]
    health_interval: Option<String>,
    /// Most live sessions at once [default: unlimited].
    #[arg(long, env = "GATEWAY_MAX_SESSIONS", value_name = "N")]
    max_sessions: Option<String>,
    /// Log filter (RUST_LOG syntax), when RUST_LOG is unset [default: info].
    #[arg(long, env = "GATEWAY_LOG_LEVEL", value_name = "FILTER")]
    log_level: Option<String>,
    /// Hostname reported in gateway.hello [default: this machine's].
    #[arg(long)]
    hostname: Option<String>,
    /// Version reported in gateway.hello [default: v0.1.0-sim].
    #[arg(long, value_name = "VERSION")]
    gateway_version: Option<String>,
    /// Time between output flushes [default: 50ms].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    output_batch: Option<Duration>,
    /// Time between WebSocket pings [default: 20s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    ping_interval: Option<Duration>,
    /// First reconnect wait, doubled after each failure [default: 1s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    reconnect_min: Option<Duration>,
    /// Longest reconnect wait [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    reconnect_max: Option<Duration>,
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_interval(text).ok_or_else(|| format!("{text:?} is not a duration like 30s or 500ms"))
}

impl Args {
    /// The configuration: the env file's pairs, overridden by flags and the environment.
    fn config(&self) -> anyhow::Result<SimConfig> {
        let mut vars = match &self.env_file {
            Some(path) => parse_env_file(
                &std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?,
            ),
            None => Vec::new(),
        };
        let given = [
            ("GATEWAY_CP_URL", &self.cp_url),
            ("GATEWAY_ID", &self.gateway_id),
            ("GATEWAY_AUTH_TOKEN", &self.token),
            ("GATEWAY_HEALTH_INTERVAL", &self.health_interval),
            ("GATEWAY_MAX_SESSIONS", &self.max_sessions),
            ("GATEWAY_LOG_LEVEL", &self.log_level),
        ];
        vars.extend(
            given
                .into_iter()
                .filter_map(|(key, value)| Some((key.to_string(), value.clone()?))),
        );
        let mut config = SimConfig::from_vars(vars)?;
        if let Some(hostname) = &self.hostname {
            config.hostname.clone_from(hostname);
        }
        if let Some(version) = &self.gateway_version {
            config.version.clone_from(version);
        }
        config.output_batch = self.output_batch.unwrap_or(config.output_batch);
        config.ping_interval = self.ping_interval.unwrap_or(config.ping_interval);
        config.backoff.initial = self.reconnect_min.unwrap_or(config.backoff.initial);
        config.backoff.max = self.reconnect_max.unwrap_or(config.backoff.max);
        Ok(config)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = args.config()?;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(config.log_level.as_deref().unwrap_or("info")))
        .context("bad log filter")?;
    tracing_subscriber::fmt().with_env_filter(filter).init();
    tracing::info!(gateway_id = %config.gateway_id, url = %config.cp_url, "starting");

    // Handlers first, so a signal that comes right after the connect is not fatal.
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let sim = GatewaySim::start(config);
    tokio::select! {
        _ = interrupt.recv() => tracing::info!("SIGINT"),
        _ = terminate.recv() => tracing::info!("SIGTERM"),
    }
    sim.stop().await;
    Ok(())
}
