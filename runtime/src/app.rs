//! Loading an app: manifest, variables, stores, and each component compiled
//! once and pre-instantiated.

use std::{
    collections::{BTreeMap, HashMap},
    fs::{File, OpenOptions},
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{Context, bail};
use wasmtime::{
    Engine, Store,
    component::{Component, Linker},
};
use wasmtime_wasi::{WasiCtx, cli::OutputFile};
use wasmtime_wasi_http::p2::bindings::{Proxy, ProxyPre};

use crate::{
    engine::wasmtime_error,
    host::{self, AppStores, ComponentContext, RequestState},
    manifest::{self, LoadedManifest},
    outbound::OutboundPolicy,
    outbound_client::OutboundClient,
    router::Router,
    runtime_config::RuntimeConfig,
    spare::Spare,
    variables::AppVariables,
};

/// A loaded application, ready to serve.
pub struct App {
    /// `[application] name`.
    pub name: String,
    /// `[application] version`.
    pub version: Option<String>,
    /// Route table.
    pub router: Router,
    /// Components by id.
    pub components: HashMap<String, LoadedComponent>,
    /// Shared stores.
    pub stores: AppStores,
}

/// One component, compiled and pre-instantiated.
pub struct LoadedComponent {
    /// Capabilities and configuration.
    pub context: Arc<ComponentContext>,
    /// Pre-instantiated `wasi:http/proxy` component.
    pub pre: ProxyPre<RequestState>,
    /// An instance made ahead of the next request.
    pub spare: Spare<ReadyInstance>,
    environment: Vec<(String, String)>,
    stdout: OutputFile,
    stderr: OutputFile,
}

/// A store with its component instantiated, not yet given a request.
pub struct ReadyInstance {
    /// The store, its state untouched by any request.
    pub store: Store<RequestState>,
    /// The instance's `wasi:http/proxy` exports.
    pub proxy: Proxy,
}

impl LoadedComponent {
    /// A fresh store for one request: environment, log files, the app's stores.
    pub fn new_store(&self, engine: &Engine, stores: &AppStores) -> Store<RequestState> {
        let wasi = WasiCtx::builder()
            .envs(&self.environment)
            .stdout(self.stdout.clone())
            .stderr(self.stderr.clone())
            .build();
        Store::new(
            engine,
            RequestState::new(wasi, self.context.clone(), stores.clone()),
        )
    }
}

/// Where an app keeps its state.
#[derive(Debug, Clone)]
pub struct StatePaths {
    /// The state directory (Spin's `--state-dir`).
    pub dir: PathBuf,
}

impl StatePaths {
    /// The `logs/` folder inside the state directory.
    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }
}

impl App {
    /// Loads `manifest`, resolves variables, opens the stores `runtime_config` names (Spin's
    /// files under `state` by default) and
    /// compiles every component used by a trigger.
    pub fn load(
        engine: &Engine,
        manifest: &LoadedManifest,
        explicit_variables: &BTreeMap<String, String>,
        environment: &BTreeMap<String, String>,
        state: &StatePaths,
        runtime_config: &RuntimeConfig,
    ) -> anyhow::Result<Self> {
        let variables = AppVariables::resolve(manifest, explicit_variables, environment)?;
        std::fs::create_dir_all(state.logs())
            .with_context(|| format!("creating {}", state.logs().display()))?;
        let client = Arc::new(OutboundClient::new());
        let stores = AppStores::open(runtime_config, &state.dir, &client)?;

        let mut linker = Linker::new(engine);
        host::add_to_linker(&mut linker).map_err(wasmtime_error)?;

        let mut components = HashMap::new();
        // Components sharing a `.wasm` share its compiled code.
        let mut compiled: HashMap<PathBuf, ProxyPre<RequestState>> = HashMap::new();
        for (id, spec) in &manifest.manifest.component {
            let id = id.get_ref();
            let context = component_context(manifest, &variables, id, spec, client.clone())?;
            let source = manifest.dir().join(spec.source.get_ref());
            let pre = match compiled.get(&source) {
                Some(pre) => pre.clone(),
                None => {
                    let started = std::time::Instant::now();
                    let pre = compile(engine, &linker, &source)
                        .with_context(|| format!("loading component '{id}'"))?;
                    tracing::debug!(component = %id, ms = started.elapsed().as_millis() as u64, "compiled");
                    compiled.insert(source, pre.clone());
                    pre
                }
            };
            components.insert(
                id.clone(),
                LoadedComponent {
                    context: Arc::new(context),
                    pre,
                    spare: Spare::default(),
                    environment: spec.environment.clone().into_iter().collect(),
                    stdout: log_file(&state.logs(), id, "stdout")?,
                    stderr: log_file(&state.logs(), id, "stderr")?,
                },
            );
        }

        let app = &manifest.manifest.application;
        Ok(Self {
            name: app.name.clone(),
            version: app.version.clone(),
            router: Router::build(manifest)?,
            components,
            stores,
        })
    }
}

fn component_context(
    manifest: &LoadedManifest,
    variables: &AppVariables,
    id: &str,
    spec: &manifest::Component,
    client: Arc<OutboundClient>,
) -> anyhow::Result<ComponentContext> {
    let expand = |value: &toml::Spanned<String>| {
        variables
            .expand(value.get_ref())
            .map_err(|e| manifest.error_at(value.span(), format_args!("component '{id}': {e}")))
    };
    let mut component_variables = HashMap::new();
    for (name, value) in &spec.variables {
        component_variables.insert(name.get_ref().clone(), expand(value)?);
    }
    let mut hosts = Vec::new();
    for entry in &spec.allowed_outbound_hosts {
        hosts.push(expand(entry)?);
    }
    let outbound = OutboundPolicy::new(&hosts).map_err(|e| {
        let span = spec
            .allowed_outbound_hosts
            .first()
            .map(|h| h.span())
            .unwrap_or_default();
        manifest.error_at(span, format_args!("component '{id}': {e}"))
    })?;
    Ok(ComponentContext {
        id: id.to_string(),
        key_value_allowed: !spec.key_value_stores.is_empty(),
        sqlite_allowed: !spec.sqlite_databases.is_empty(),
        variables: component_variables,
        outbound,
        client,
    })
}

fn compile(
    engine: &Engine,
    linker: &Linker<RequestState>,
    source: &Path,
) -> anyhow::Result<ProxyPre<RequestState>> {
    if !source.is_file() {
        bail!(
            "{} does not exist: build the components first (`spin build`, or `chatcode up` which builds them)",
            source.display()
        );
    }
    let component = Component::from_file(engine, source)
        .map_err(wasmtime_error)
        .with_context(|| format!("compiling {}", source.display()))?;
    let pre = linker
        .instantiate_pre(&component)
        .map_err(wasmtime_error)
        .context("linking: the component imports something this runtime does not provide")?;
    ProxyPre::new(pre)
        .map_err(wasmtime_error)
        .context("the component does not export wasi:http/incoming-handler@0.2")
}

/// Opens `<logs>/<component>_<stream>.txt` for appending, as Spin names them.
fn log_file(logs: &Path, component: &str, stream: &str) -> anyhow::Result<OutputFile> {
    let path = logs.join(format!("{component}_{stream}.txt"));
    let file: File = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    Ok(OutputFile::new(file))
}
