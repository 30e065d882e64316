//! `chatcode up`: build, configure, serve, migrate.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf};

use anyhow::{Context, bail};
use chatcode_runtime::{Runtime, RuntimeOptions, builder, manifest::LoadedManifest};
use clap::Args;

/// Options of `chatcode up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Address to serve on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Data folder: SQLite, key-value, logs, compile cache, development secrets.
    #[arg(long, default_value = ".chatcode")]
    data_dir: PathBuf,
    /// The application manifest.
    #[arg(long, default_value = "spin.toml")]
    manifest: PathBuf,
    /// `development` (default here) or `production`; also read from SPIN_VARIABLE_ENVIRONMENT.
    #[arg(long, env = "SPIN_VARIABLE_ENVIRONMENT", default_value = "development")]
    environment: String,
    /// Set an application variable (repeatable): NAME=VALUE.
    #[arg(long = "variable", value_parser = chatcode_runtime::cli::parse_assignment)]
    variables: Vec<(String, String)>,
    /// Serve the `.wasm` files as they are, without running the build commands.
    #[arg(long)]
    no_build: bool,
    /// Spin's runtime config, as `spin up --runtime-config-file` takes it: the key-value store
    /// on Redis, the database on libSQL.
    #[arg(long)]
    runtime_config_file: Option<PathBuf>,
    /// Address of the hub's own port (`/healthz`, `/metrics`, the command relay); its
    /// WebSocket endpoints are also served on `--listen`. Default: 127.0.0.1:3001, or a free
    /// port when `--listen` asks for port 0.
    #[arg(long)]
    hub_listen: Option<SocketAddr>,
    /// The Redis this process's hub shares with other hubs (`chatcode-hub --redis-url`);
    /// without it the hub works alone.
    #[arg(
        long = "hub-redis-url",
        env = "CHATCODE_HUB_REDIS_URL",
        value_name = "URL"
    )]
    hub_redis_url: Option<String>,
}

impl UpArgs {
    /// Where the hub's own port listens: as given, else a free port next to a `--listen` on
    /// port 0 (so two instances never collide), else 127.0.0.1:3001.
    fn hub_listen(&self) -> SocketAddr {
        self.hub_listen.unwrap_or_else(|| {
            if self.listen.port() == 0 {
                SocketAddr::new(self.listen.ip(), 0)
            } else {
                SocketAddr::from(([127, 0, 0, 1], 3001))
            }
        })
    }
}

/// Longest `chatcode up` waits, once migrated, for the app to hear its hub started.
const HUB_START_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs `chatcode up` until SIGINT/SIGTERM.
pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    let hub_listen = args.hub_listen();
    if !args.no_build {
        let manifest = args.manifest.clone();
        tokio::task::spawn_blocking(move || builder::build_components(&manifest))
            .await
            .context("build task failed")??;
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;

    let environment: BTreeMap<String, String> = std::env::vars().collect();
    let mut variables: BTreeMap<String, String> = args.variables.into_iter().collect();
    variables.insert("environment".into(), args.environment.clone());
    if args.environment == "development" {
        let missing = unset_secrets(&args.manifest, &variables, &environment)?;
        variables.extend(crate::dev_secrets::load_or_generate(
            &args.data_dir,
            &missing,
        )?);
    }
    let hub_secret = variables
        .get("hub_secret")
        .or_else(|| environment.get("SPIN_VARIABLE_HUB_SECRET"))
        .cloned();

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    if args.environment == "development" {
        // Until told otherwise, the app and its hub are reached where this process listens.
        for name in ["public_url", "hub_public_url"] {
            let env_name = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
            if !variables.contains_key(name) && !environment.contains_key(&env_name) {
                variables.insert(name.into(), format!("http://{addr}"));
            }
        }
    }

    let hub_listener = tokio::net::TcpListener::bind(hub_listen)
        .await
        .with_context(|| format!("listening on {hub_listen} for the hub"))?;
    let hub_addr = hub_listener.local_addr()?;
    if !variables.contains_key("hub_url") && !environment.contains_key("SPIN_VARIABLE_HUB_URL") {
        // The components relay commands to the hub this process runs.
        variables.insert("hub_url".into(), format!("http://{hub_addr}"));
    }

    let mut options = RuntimeOptions::new(&args.manifest);
    options.data_dir = Some(args.data_dir.clone());
    options.runtime_config = args.runtime_config_file.clone();
    options.variables = variables;
    options.environment = environment;
    let runtime = tokio::task::spawn_blocking(move || Runtime::load(&options))
        .await
        .context("load task failed")??;
    let Some(hub_secret) = hub_secret else {
        bail!("hub_secret has no value: set SPIN_VARIABLE_HUB_SECRET or --variable hub_secret=…");
    };
    let mut hub_config = chatcode_hub::HubConfig::new(format!("http://{addr}"), hub_secret.clone());
    hub_config.redis_url = args.hub_redis_url.clone().filter(|url| !url.is_empty());
    let hub = chatcode_hub::serve(hub_config, hub_listener)?;
    let serving = runtime.serve_with(
        listener,
        Some(crate::front::HubPassthrough::new(hub.router())),
    )?;

    if let Err(e) = migrate(addr, &hub_secret).await {
        hub.shutdown().await;
        serving.shutdown().await;
        return Err(e);
    }
    // The hub's start reaches the app before anything else does, so it cannot undo a gateway
    // connecting once we serve.
    if tokio::time::timeout(HUB_START_WAIT, hub.app_ready())
        .await
        .is_err()
    {
        tracing::warn!("the app has not heard the hub start within {HUB_START_WAIT:?}");
    }
    tracing::info!(environment = %args.environment, data = %args.data_dir.display(), "chatcode is up");
    let shutdown = chatcode_runtime::cli::shutdown_signal();
    println!("Serving http://{addr}");
    println!("Hub listening on http://{}", hub.addr);
    shutdown.await;
    tracing::info!("shutting down");
    hub.shutdown().await;
    serving.shutdown().await;
    Ok(())
}

/// Secret variables without a default that neither `--variable` nor the
/// environment sets.
fn unset_secrets(
    manifest: &std::path::Path,
    variables: &BTreeMap<String, String>,
    environment: &BTreeMap<String, String>,
) -> anyhow::Result<Vec<String>> {
    let loaded = LoadedManifest::load(manifest)?;
    Ok(loaded
        .manifest
        .variables
        .iter()
        .filter(|(_, def)| def.secret && def.default.is_none())
        .map(|(name, _)| name.get_ref().clone())
        .filter(|name| {
            !variables.contains_key(name)
                && !environment
                    .contains_key(&format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase()))
        })
        .collect())
}

/// Applies pending migrations through the platform component.
async fn migrate(addr: SocketAddr, secret: &str) -> anyhow::Result<()> {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/internal/migrate"))
        .bearer_auth(secret)
        .send()
        .await
        .context("calling /internal/migrate")?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("applying migrations failed ({status}): {body}");
    }
    tracing::info!(schema_version = %body["schema_version"], applied = %body["applied"], "migrations applied");
    Ok(())
}
