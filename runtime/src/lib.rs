//! An embedded Spin-compatible runtime for chatcode.
//!
//! It reads a `spin.toml` (manifest v2) and serves its WASI 0.2 HTTP
//! components on wasmtime the way `spin up` does for everything chatcode
//! uses: Spin's routing and request headers, key-value and SQLite on Spin's
//! files, variables, and outbound HTTP limited to `allowed_outbound_hosts`.
//! The `chatcode-runtime` binary and the `chatcode` launcher both use it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod builder;
pub mod cli;
pub mod engine;
pub mod guest_body;
pub mod host;
pub mod libsql;
pub mod manifest;
pub mod outbound;
pub mod outbound_client;
pub mod redis_kv;
pub mod router;
pub mod runtime_config;
pub mod server;
pub mod spare;
pub mod storage;
pub mod stores;
pub mod timing;
pub mod variables;
pub mod workers;
pub mod writer;

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use hyper::{server::conn::http1, service::service_fn};
use hyper_util::{
    rt::TokioIo,
    server::graceful::{GracefulShutdown, Watcher},
};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::{
    app::{App, StatePaths},
    engine::EpochTicker,
    manifest::LoadedManifest,
    runtime_config::RuntimeConfig,
    server::{Limits, Server},
    workers::Workers,
};

/// How to run an app.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RuntimeOptions {
    /// Path of `spin.toml`.
    pub manifest: PathBuf,
    /// State directory; defaults to `.spin` next to the manifest, like Spin.
    pub data_dir: Option<PathBuf>,
    /// Compiled-code cache; defaults to `<data_dir>/cache`.
    pub cache_dir: Option<PathBuf>,
    /// `--variable` values.
    pub variables: BTreeMap<String, String>,
    /// A snapshot of the process environment (for `SPIN_VARIABLE_*`).
    pub environment: BTreeMap<String, String>,
    /// Concurrent instances; past it requests answer 503 (Spin's default is 1,000).
    pub max_instances: u32,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Longest a component may take to respond.
    pub request_timeout: Duration,
    /// `--runtime-config-file`: where the stores live (Spin's files when `None`).
    pub runtime_config: Option<PathBuf>,
}

impl RuntimeOptions {
    /// Defaults for the manifest at `manifest`.
    pub fn new(manifest: impl Into<PathBuf>) -> Self {
        Self {
            manifest: manifest.into(),
            data_dir: None,
            cache_dir: None,
            variables: BTreeMap::new(),
            environment: BTreeMap::new(),
            max_instances: 1000,
            max_body_bytes: 10 << 20,
            request_timeout: Duration::from_secs(60),
            runtime_config: None,
        }
    }

    /// The state directory in effect.
    pub fn state_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| match self.manifest.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.join(".spin"),
                _ => PathBuf::from(".spin"),
            })
    }
}

/// Takes the requests the app must not see, such as the hub's WebSocket upgrades when one
/// port serves both.
pub trait Passthrough: Send + Sync + 'static {
    /// Whether `req` is one of its own.
    fn takes(&self, req: &http::Request<hyper::body::Incoming>) -> bool;
    /// Answers a request it takes (HTTP upgrades included).
    fn handle(
        &self,
        req: http::Request<hyper::body::Incoming>,
    ) -> futures::future::BoxFuture<'static, http::Response<server::Body>>;
}

/// An app loaded and ready to serve.
pub struct Runtime {
    server: Arc<Server>,
    _ticker: EpochTicker,
}

/// A running server; dropping it does not stop it, call [`Serving::shutdown`].
pub struct Serving {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Runtime {
    /// Loads the manifest, resolves variables, opens stores and compiles the
    /// components. Fails with a message naming what is wrong.
    pub fn load(options: &RuntimeOptions) -> anyhow::Result<Self> {
        let manifest = LoadedManifest::load(&options.manifest)?;
        let runtime_config = match &options.runtime_config {
            Some(path) => RuntimeConfig::load(path)?,
            None => RuntimeConfig::default(),
        };
        let state = StatePaths {
            dir: options.state_dir(),
        };
        std::fs::create_dir_all(&state.dir)
            .with_context(|| format!("creating the state directory {}", state.dir.display()))?;
        let cache_dir = options
            .cache_dir
            .clone()
            .unwrap_or_else(|| state.dir.join("cache"));
        let cache_dir = std::path::absolute(&cache_dir)
            .with_context(|| format!("resolving {}", cache_dir.display()))?;
        // Each component may also hold one spare instance, outside the request limit.
        let components = u32::try_from(manifest.manifest.component.len()).unwrap_or(u32::MAX);
        let pool_size = options.max_instances.saturating_add(components);
        let engine = engine::new_engine(pool_size, Some(&cache_dir))?;
        let ticker = EpochTicker::start(&engine)?;
        let app = App::load(
            &engine,
            &manifest,
            &options.variables,
            &options.environment,
            &state,
            &runtime_config,
        )?;
        let limits = Limits {
            max_body_bytes: options.max_body_bytes,
            request_timeout: options.request_timeout,
        };
        let server = Server::new(engine, app, limits, options.max_instances as usize);
        Ok(Self {
            server: Arc::new(server),
            _ticker: ticker,
        })
    }

    /// The loaded app.
    pub fn app(&self) -> &App {
        self.server.app()
    }

    /// The engine the app's components are compiled for.
    pub fn engine(&self) -> &wasmtime::Engine {
        self.server.engine()
    }

    /// Serves on `listener` until [`Serving::shutdown`].
    pub fn serve(self, listener: TcpListener) -> anyhow::Result<Serving> {
        self.serve_with(listener, None)
    }

    /// Serves on `listener`, handing the requests `passthrough` takes to it (with HTTP
    /// upgrades), until [`Serving::shutdown`].
    pub fn serve_with(
        self,
        listener: TcpListener,
        passthrough: Option<Arc<dyn Passthrough>>,
    ) -> anyhow::Result<Serving> {
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let workers = Workers::per_core().context("starting the request threads")?;
        let task = tokio::spawn(async move {
            let graceful = GracefulShutdown::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let (stream, client) = match accepted {
                            Ok(pair) => pair,
                            Err(e) => {
                                tracing::warn!("accept failed: {e}");
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                continue;
                            }
                        };
                        // Handed over as a std socket: the request thread registers it with
                        // its own runtime, which then drives all of the connection's work.
                        let stream = match stream.into_std() {
                            Ok(stream) => stream,
                            Err(e) => {
                                tracing::warn!("handing over a connection from {client}: {e}");
                                continue;
                            }
                        };
                        let connection = Connection {
                            server: self.server.clone(),
                            passthrough: passthrough.clone(),
                            client,
                            stopped: stopped.clone(),
                            graceful: graceful.watcher(),
                        };
                        workers.spawn(connection.serve(stream));
                    }
                    _ = stopped.changed() => break,
                }
            }
            drop(listener);
            if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
                .await
                .is_err()
            {
                tracing::warn!("connections still open after 10 s; closing them");
            }
            drop(workers);
            drop(self);
        });
        Ok(Serving { addr, stop, task })
    }
}

/// One accepted connection, served on a request thread.
struct Connection {
    server: Arc<Server>,
    passthrough: Option<Arc<dyn Passthrough>>,
    client: SocketAddr,
    stopped: watch::Receiver<bool>,
    graceful: Watcher,
}

impl Connection {
    async fn serve(self, stream: std::net::TcpStream) {
        let client = self.client;
        let stream = match tokio::net::TcpStream::from_std(stream) {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!("registering the connection from {client}: {e}");
                return;
            }
        };
        // Small writes (an upgraded terminal's keystroke echoes) go out at once.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
        let server = self.server;
        let client_addr = router::ClientAddr::new(client);
        let upgrades = self.passthrough.is_some();
        let passthrough = self.passthrough;
        let service = service_fn(move |req| {
            let server = server.clone();
            let client_addr = client_addr.clone();
            let taken = match &passthrough {
                Some(p) if p.takes(&req) => Ok(p.handle(req)),
                _ => Err(req),
            };
            async move {
                match taken {
                    Ok(response) => Ok(response.await),
                    Err(req) => server.handle(req, client_addr).await,
                }
            }
        });
        let conn = http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        if upgrades {
            // Upgraded sockets outlive the server's graceful wait: their owner closes them.
            // The HTTP part still ends gracefully on stop.
            serve_upgradeable(conn.with_upgrades(), self.stopped, client).await;
        } else if let Err(e) = self.graceful.watch(conn).await {
            tracing::debug!("connection from {client} ended: {e}");
        }
    }
}

/// Drives a connection that may upgrade, asking it to finish once `stop` turns true.
async fn serve_upgradeable<S>(
    conn: http1::UpgradeableConnection<TokioIo<tokio::net::TcpStream>, S>,
    mut stop: watch::Receiver<bool>,
    client: SocketAddr,
) where
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = server::Body>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut conn = std::pin::pin!(conn);
    let stopping = async move {
        // The guard `wait_for` returns must not live across the next await.
        let _ = stop.wait_for(|stop| *stop).await.map(|_| ());
    };
    let ended = tokio::select! {
        ended = conn.as_mut() => ended,
        () = stopping => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = ended {
        tracing::debug!("connection from {client} ended: {e}");
    }
}

impl Serving {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets in-flight requests finish (up to 10 s), returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
