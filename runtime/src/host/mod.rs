//! Per-request host state: WASI, wasi:http and the Spin interfaces.

pub mod bindings;
pub mod http;
pub mod key_value;
pub mod sqlite;
pub mod variables;

use std::{collections::HashMap, sync::Arc, time::Instant};

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub use crate::stores::AppStores;
use crate::{
    outbound::OutboundPolicy,
    outbound_client::OutboundClient,
    timing::{HostCall, Timeline},
};

/// What one component may use, resolved once at start-up.
#[derive(Debug)]
pub struct ComponentContext {
    /// The component id.
    pub id: String,
    /// Whether it lists the `default` key-value store.
    pub key_value_allowed: bool,
    /// Whether it lists the `default` database.
    pub sqlite_allowed: bool,
    /// Its variables, templates expanded.
    pub variables: HashMap<String, String>,
    /// Its `allowed_outbound_hosts`.
    pub outbound: OutboundPolicy,
    /// The runtime's outbound HTTP client, shared by every component.
    pub client: Arc<OutboundClient>,
}

/// The `T` of each request's `Store<T>`.
pub struct RequestState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: http::OutboundHooks,
    component: Arc<ComponentContext>,
    stores: AppStores,
    open_key_value_stores: usize,
    open_connections: usize,
    timeline: Option<Timeline>,
}

impl RequestState {
    /// State for one request to `component`.
    pub fn new(wasi: WasiCtx, component: Arc<ComponentContext>, stores: AppStores) -> Self {
        Self {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: http::OutboundHooks::new(component.clone()),
            component,
            stores,
            open_key_value_stores: 0,
            open_connections: 0,
            timeline: None,
        }
    }

    /// Times this request's host calls and outbound requests on `timeline`.
    pub fn set_timeline(&mut self, timeline: Timeline) {
        self.hooks.timeline = Some(timeline.clone());
        self.timeline = Some(timeline);
    }

    /// When a host call begins, if this request is timed.
    fn call_began(&self) -> Option<Instant> {
        self.timeline.as_ref().map(|_| Instant::now())
    }

    /// A host call of `kind` that began at `since` returned.
    fn call_ended(&self, kind: HostCall, since: Option<Instant>) {
        if let (Some(timeline), Some(since)) = (&self.timeline, since) {
            timeline.host_call(kind, since);
        }
    }
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Adds WASI 0.2, wasi:http and the Spin interfaces to `linker`.
pub fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    bindings::SpinHost::add_to_linker::<_, HasSelf<RequestState>>(linker, |s| s)?;
    Ok(())
}
