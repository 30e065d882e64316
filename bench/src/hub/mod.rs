//! Hub benchmarks: `chatcode-hub` measured against raw tokio-tungstenite and axum baselines in
//! the same run, each server in a process of its own.

mod baseline;
mod fanout;
mod fleet;
mod gateway;
pub mod hubs;
mod idle;
mod isolation;
mod keystroke;
pub mod relay;
mod report;
mod rss;
mod server_process;
mod stand_in_app;
mod target;

use std::time::Duration;

use anyhow::Context;
use chatcode_hub::{HubConfig, Serving};
use server_process::ServerProcess;

pub use fleet::{Role as FleetRole, clients as fleet_clients, probe as fleet_probe};
pub use idle::{Kind, clients as idle_clients, probe as idle_probe};
pub use report::HEADING;
pub use server_process::serve as serve_under_test;

/// The hub's secret (app bearer and ticket key).
const HUB_SECRET: &str = "bench-hub-secret";
/// The benchmark's gateway.
const GATEWAY_ID: &str = "gw-bench";
/// The start of the other gateways' ids (P8's flooder, P9's fleet).
const FLEET_PREFIX: &str = "gw-bench-";
/// Its token, accepted by the stand-in app.
const GATEWAY_TOKEN: &str = "bench-gateway-token";
/// The VPS the stand-in app says the gateway runs on.
const VPS_ID: &str = "vps-bench";
/// The user tickets are issued to.
const USER_ID: &str = "usr-bench";
/// Payload bytes per fan-out frame.
const FRAME_PAYLOAD: usize = 4096;
/// How far (bytes) the sender may run ahead of the slowest reader; the hub evicts at 4 MiB.
const WINDOW_BYTES: usize = 1024 * 1024;
/// Keystrokes before the timed ones, per round.
const KEYSTROKE_WARMUP: usize = 200;
/// P3 alternates hub and echo this many times: a keystroke takes tens of microseconds, so
/// drift in the machine's load between slices would otherwise land on one side.
const KEYSTROKE_ROUNDS: usize = 10;

/// The hub suite's knobs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Timed frames per fan-out run.
    pub frames: u64,
    /// Fan-out runs per side, alternating hub and baseline; the report gives medians.
    pub rounds: usize,
    /// Browsers per fan-out run.
    pub browsers: usize,
    /// Idle sockets for P7.
    pub sockets: usize,
    /// Idle gateways for P9 (each with one idle browser).
    pub fleet: usize,
    /// Keystrokes timed for P3.
    pub keystrokes: usize,
    /// Relay requests per second for P4.
    pub relay_rate: u32,
    /// How long P4 runs per side.
    pub relay_duration: Duration,
}

/// Latency percentiles of one run.
#[derive(Debug, Clone, Copy)]
pub struct Latencies {
    /// Samples.
    pub count: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
}

impl From<Vec<Duration>> for Latencies {
    fn from(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let pick = |q: f64| {
            let index = ((samples.len().saturating_sub(1)) as f64 * q) as usize;
            samples.get(index).copied().unwrap_or_default()
        };
        Self {
            count: samples.len(),
            p50: pick(0.50),
            p99: pick(0.99),
        }
    }
}

/// Starts a hub on `127.0.0.1:0` that uses the (stand-in) app at `app_url`.
async fn start_hub(app_url: &str) -> anyhow::Result<Serving> {
    let mut config = HubConfig::new(app_url, HUB_SECRET);
    // P4 sends thousands of distinct request ids; the hub keeps 10,000 answers at most, for
    // 10 min by default. Forget them sooner so a long P4 run stays under the cap.
    config.timers.relay_memory = Duration::from_secs(10);
    config.timers.idle_sweep = Duration::from_secs(2);
    // P7 attaches every idle browser to one session, past the default cap per session.
    config.limits.browsers_per_session = usize::MAX;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the hub")?;
    chatcode_hub::serve(config, listener).context("starting the hub")
}

/// Waits until the hub has the benchmark's gateway linked.
async fn gateway_linked(hub: &ServerProcess) -> anyhow::Result<()> {
    let linked = tokio::time::timeout(Duration::from_secs(10), async {
        while !hub.gateway_linked().await? {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        anyhow::Ok(())
    })
    .await;
    linked.context("the raw gateway did not link to the hub within 10 s")?
}

/// The hub's eviction counter, from its metrics text.
fn evictions(serving: &Serving) -> u64 {
    serving
        .hub
        .metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix("chatcode_hub_evictions_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Runs P1–P4 and P7–P9; returns the report section.
pub async fn run(options: &Options) -> anyhow::Result<String> {
    let app = stand_in_app::StandInApp::serve().await?;
    let hub_server = ServerProcess::start(Kind::Hub, &app.url()).await?;
    let hub = target::Target::Hub(hub_server.addr);
    let raw = ServerProcess::start(Kind::Baseline, &app.url()).await?;
    let base = target::Target::Baseline(raw.addr);
    let hub_gateway = gateway::RawGateway::connect(hub).await?;
    let base_gateway = gateway::RawGateway::connect(base).await?;
    gateway_linked(&hub_server).await?;

    let window = (WINDOW_BYTES / FRAME_PAYLOAD) as u64;
    let spec = |session: &str, one_stuck: bool| fanout::Spec {
        session_id: session.to_owned(),
        browsers: options.browsers,
        warmup: 2 * window,
        frames: options.frames,
        payload: FRAME_PAYLOAD,
        window,
        one_stuck,
    };
    let (mut p1, mut p1_base, mut p2, mut p2_base) = (vec![], vec![], vec![], vec![]);
    for round in 0..options.rounds {
        eprintln!(
            "hub P1, round {}: fan-out to {} browsers…",
            round + 1,
            options.browsers
        );
        let session = format!("ses-p1-{round}");
        let this = spec(&session, false);
        let ours = fanout::run(&hub_server, hub, &hub_gateway, &this);
        p1.push(ours.await.context("P1 on the hub")?);
        let theirs = fanout::run(&raw, base, &base_gateway, &this);
        p1_base.push(theirs.await.context("P1 on the baseline")?);
    }
    let evicted_before = hub_server.evictions().await?;
    for round in 0..options.rounds {
        eprintln!("hub P2, round {}: one browser stops reading…", round + 1);
        let session = format!("ses-p2-{round}");
        let this = spec(&session, true);
        let ours = fanout::run(&hub_server, hub, &hub_gateway, &this);
        p2.push(ours.await.context("P2 on the hub")?);
        let theirs = fanout::run(&raw, base, &base_gateway, &this);
        p2_base.push(theirs.await.context("P2 on the baseline")?);
    }
    let evicted = hub_server.evictions().await? - evicted_before;

    let per_round = options.keystrokes.div_ceil(KEYSTROKE_ROUNDS);
    let (mut keys, mut echo, mut forwarded) = (vec![], vec![], vec![]);
    for round in 0..KEYSTROKE_ROUNDS {
        eprintln!("hub P3, round {}: keystroke round trips…", round + 1);
        let session = format!("ses-p3-{round}");
        let ours = keystroke::through_gateway(hub, &session, KEYSTROKE_WARMUP, per_round);
        keys.extend(ours.await.context("P3 on the hub")?);
        let theirs = keystroke::through_echo(base, KEYSTROKE_WARMUP, per_round);
        echo.extend(theirs.await.context("P3 on the echo server")?);
        let raw = keystroke::through_gateway(base, &session, KEYSTROKE_WARMUP, per_round);
        forwarded.extend(raw.await.context("P3 on the raw forwarder")?);
    }

    let isolation = isolation::measure(hub, &app, per_round, KEYSTROKE_ROUNDS / 2).await?;

    let rounds = options.rounds;
    let http = reqwest::Client::new();
    let rate = options.relay_rate;
    let slice = options.relay_duration / u32::try_from(rounds).unwrap_or(u32::MAX);
    let resize = |n| relay::resize("ses-p3-0", n);
    let (mut relayed, mut trivially) = (vec![], vec![]);
    // Warm-up, not counted.
    let relay = |addr, duration| {
        relay::measure(&http, addr, GATEWAY_ID, HUB_SECRET, rate, duration, resize)
    };
    relay(hub_server.relay_addr, slice / 4).await?;
    relay(raw.relay_addr, slice / 4).await?;
    for round in 0..rounds {
        eprintln!("hub P4, round {}: relay at {rate} req/s…", round + 1);
        relayed.extend(
            relay(hub_server.relay_addr, slice)
                .await
                .context("P4 on the hub")?,
        );
        let theirs = relay(raw.relay_addr, slice).await;
        trivially.extend(theirs.context("P4 on the trivial endpoint")?);
    }

    drop((hub_gateway, base_gateway, hub_server, raw));

    let limit = rss::raise_open_files()?;
    let cap = usize::try_from(limit.saturating_sub(256)).unwrap_or(usize::MAX);
    let sockets = options.sockets.min(cap);
    eprintln!("hub P7: {sockets} idle browser sockets…");
    let idle_hub = idle::measure(Kind::Hub, sockets, &app.url())
        .await
        .context("P7 on the hub")?;
    let idle_base = idle::measure(Kind::Baseline, sockets, &app.url())
        .await
        .context("P7 on the baseline")?;
    let idle_small = idle::measure(Kind::BaselineSmallReads, sockets, &app.url())
        .await
        .context("P7 on the baseline with small read buffers")?;
    // The hub holds two sockets per gateway and browser pair, plus a few descriptors.
    let pairs = options.fleet.min(cap / 2);
    eprintln!("hub P9: {pairs} idle gateways and as many idle browsers…");
    let fleet = fleet::measure(pairs, &app.url())
        .await
        .context("P9 on the hub")?;
    Ok(report::render(&report::Results {
        options: options.clone(),
        window,
        p1: fanout::Summary::of(&p1),
        p1_base: fanout::Summary::of(&p1_base),
        p2: fanout::Summary::of(&p2),
        p2_base: fanout::Summary::of(&p2_base),
        evicted,
        keys: Latencies::from(keys),
        echo: Latencies::from(echo),
        forwarded: Latencies::from(forwarded),
        relayed: Latencies::from(relayed),
        trivially: Latencies::from(trivially),
        quiet: Latencies::from(isolation.quiet),
        flooded: Latencies::from(isolation.flooded),
        flood_events: isolation.flood_events,
        idle_hub,
        idle_base,
        idle_small,
        fleet,
        requested_sockets: options.sockets,
        open_files_limit: limit,
    }))
}
