//! How a hub is set up: where the app is, the shared secret, limits and timers, and the Redis
//! several hubs share.

use std::time::Duration;

use crate::{event_queue::QueueCaps, outbox::QueueLimits, rate::Rate, replay::REPLAY_BYTES};

/// A hub's configuration.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// The app's base URL (its `/internal/*` routes), e.g. `http://127.0.0.1:3000`.
    pub app_url: String,
    /// Bearer of the app's internal routes and key of attach tickets.
    pub hub_secret: String,
    /// Timers.
    pub timers: Timers,
    /// Each browser socket's outbound queue.
    pub browser_queue: QueueLimits,
    /// Each gateway socket's outbound queue.
    pub gateway_queue: QueueLimits,
    /// How much state one peer may hold.
    pub limits: Limits,
    /// Several hubs: the Redis they share (gateway ownership and the terminal data path).
    /// `None`, one hub alone, makes no Redis call.
    pub redis_url: Option<String>,
}

/// The hub's bounds on sockets and on what each peer may make it hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Sockets (gateways and browsers) open at once; an upgrade past it answers 503.
    pub sockets: usize,
    /// Sessions kept per gateway; output of another is dropped, an attach to another
    /// answers 503.
    pub sessions_per_gateway: usize,
    /// Browsers attached to one session at once; one more answers 503.
    pub browsers_per_session: usize,
    /// What each browser may send, in bytes of messages per second with a burst; past it
    /// the message is dropped and the browser told `rate_limited`.
    pub browser_input: Rate,
    /// Output kept per session for resumes.
    pub replay_bytes: usize,
    /// Each gateway's events on their way to the app.
    pub event_queue: QueueCaps,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            sockets: 50_000,
            sessions_per_gateway: 64,
            browsers_per_session: 256,
            browser_input: Rate {
                per_second: 128.0 * 1024.0,
                burst: 512.0 * 1024.0,
            },
            replay_bytes: REPLAY_BYTES,
            event_queue: QueueCaps::default(),
        }
    }
}

/// The hub's clocks.
#[derive(Debug, Clone, Copy)]
pub struct Timers {
    /// How long a dropped gateway may take to come back before it is recorded offline.
    pub gateway_grace: Duration,
    /// A browser that sends nothing this long is closed (WebSocket pongs do not count).
    pub browser_idle: Duration,
    /// How often idle browsers and stale relay entries are swept.
    pub idle_sweep: Duration,
    /// How often the app's `/internal/sweep` and `/internal/billing/sweep` are called.
    pub app_sweep: Duration,
    /// How often the hub pings browsers (their pongs count as activity).
    pub browser_ping: Duration,
    /// How long a relayed command waits for its answer.
    pub relay_timeout: Duration,
    /// How long a relay answer is kept for a repeated `request_id`.
    pub relay_memory: Duration,
    /// How long a gateway authentication is cached.
    pub auth_cache: Duration,
    /// How long events wait to be batched to the app.
    pub event_flush: Duration,
    /// How long a session's output stays after `session.ended`, for its browsers to get the
    /// tail; then they are closed (4002) and its state freed.
    pub session_linger: Duration,
    /// How long a session with no browser keeps its replay window.
    pub session_idle: Duration,
    /// Several hubs: how long a hub's claim on a gateway (and its own liveness) lasts in Redis
    /// unless refreshed, so a dead hub's claims lapse.
    pub claim_lease: Duration,
    /// Several hubs: how often claims and liveness are refreshed and peers' liveness checked.
    pub claim_refresh: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            gateway_grace: Duration::from_secs(30),
            browser_idle: Duration::from_secs(600),
            idle_sweep: Duration::from_secs(60),
            app_sweep: Duration::from_secs(30),
            browser_ping: Duration::from_secs(30),
            relay_timeout: Duration::from_secs(10),
            relay_memory: Duration::from_secs(600),
            auth_cache: Duration::from_secs(60),
            event_flush: Duration::from_millis(200),
            session_linger: Duration::from_secs(60),
            session_idle: Duration::from_secs(600),
            claim_lease: Duration::from_secs(15),
            claim_refresh: Duration::from_secs(5),
        }
    }
}

impl HubConfig {
    /// A configuration with the default limits and timers.
    pub fn new(app_url: impl Into<String>, hub_secret: impl Into<String>) -> Self {
        Self {
            app_url: app_url.into().trim_end_matches('/').to_owned(),
            hub_secret: hub_secret.into(),
            timers: Timers::default(),
            browser_queue: QueueLimits {
                messages: 1024,
                bytes: 4 * 1024 * 1024,
                write_timeout: Duration::from_secs(10),
            },
            gateway_queue: QueueLimits {
                messages: 4096,
                bytes: 16 * 1024 * 1024,
                write_timeout: Duration::from_secs(10),
            },
            limits: Limits::default(),
            redis_url: None,
        }
    }
}
