//! The hub's shared state: every gateway it knows, the app client, the event recorder, the
//! metrics, the hub's clock, and its membership of a cluster of hubs.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use chatcode_core::ticket::AttachTicket;

use crate::{
    app::AppClient, cluster::Cluster, config::HubConfig, gateway::Gateway, metrics::Metrics,
    recorder::Recorder, revoke::Revoked,
};

/// Shared by every handler and task.
pub struct Hub {
    /// Configuration.
    pub config: HubConfig,
    /// The app's internal routes.
    pub app: Arc<AppClient>,
    /// Delivers each gateway's events to the app.
    pub recorder: Recorder,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Several hubs: this hub's membership (`None` alone, and then no Redis call is made).
    pub cluster: Option<Arc<Cluster>>,
    gateways: Mutex<HashMap<String, Arc<Gateway>>>,
    sockets: Arc<Semaphore>,
    revoked: Mutex<Revoked>,
    /// Set once the app has heard this hub started; events wait for it.
    pub(crate) app_ready: watch::Sender<bool>,
    ids: AtomicU64,
    started: Instant,
}

impl Hub {
    /// A hub for `config`, a member of `cluster` if any (starts the recorder task).
    pub fn new(config: HubConfig, cluster: Option<Arc<Cluster>>) -> Arc<Self> {
        let app = Arc::new(AppClient::new(
            &config.app_url,
            &config.hub_secret,
            config.timers.auth_cache,
        ));
        let metrics = Arc::new(Metrics::default());
        let (app_ready, ready) = watch::channel(false);
        let recorder = Recorder::new(
            app.clone(),
            metrics.clone(),
            config.timers.event_flush,
            ready,
        );
        let sockets = Arc::new(Semaphore::new(config.limits.sockets));
        Arc::new(Self {
            config,
            app,
            recorder,
            metrics,
            cluster,
            gateways: Mutex::new(HashMap::new()),
            sockets,
            revoked: Mutex::new(Revoked::default()),
            app_ready,
            ids: AtomicU64::new(1),
            started: Instant::now(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Gateway>>> {
        self.gateways.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The gateway `id`, created if the hub has not seen it yet.
    pub fn gateway(&self, id: &str) -> Arc<Gateway> {
        self.lock()
            .entry(id.to_owned())
            .or_insert_with(|| Arc::new(Gateway::new(id, self.config.limits, self.metrics.clone())))
            .clone()
    }

    /// The gateway `id`, if known.
    pub fn existing(&self, id: &str) -> Option<Arc<Gateway>> {
        self.lock().get(id).cloned()
    }

    /// Every known gateway.
    pub fn all(&self) -> Vec<Arc<Gateway>> {
        self.lock().values().cloned().collect()
    }

    /// Forgets gateways nothing refers to any more.
    pub fn forget_unused(&self) {
        self.lock().retain(|_, g| !g.is_unused());
    }

    /// A place for one more socket, held until the socket ends; `None` (and counted) at the
    /// cap.
    pub fn socket_permit(&self) -> Option<OwnedSemaphorePermit> {
        let permit = self.sockets.clone().try_acquire_owned().ok();
        if permit.is_none() {
            self.metrics.socket_refused();
        }
        permit
    }

    /// Runs `f` on the recent revocations.
    pub fn with_revoked<T>(&self, f: impl FnOnce(&mut Revoked) -> T) -> T {
        f(&mut self.revoked.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether `ticket` names a sign-in, VPS or session revoked since it was issued.
    pub fn is_revoked(&self, ticket: &AttachTicket) -> bool {
        self.with_revoked(|revoked| revoked.refuses(ticket, std::time::Instant::now()))
    }

    /// A fresh id for a socket or a browser.
    pub fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Milliseconds since the hub started (the idle sweep's clock).
    pub fn clock_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A new `request_id` for a command the hub sends on someone's behalf.
    pub fn request_id(&self) -> String {
        format!("hub-{}-{}", std::process::id(), self.next_id())
    }
}
