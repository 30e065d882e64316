//! Several hubs: fan-out and a keystroke's round trip with the browsers on hub A and the
//! gateway on hub B (one Redis between them), next to the same on one hub alone. All three
//! hubs run in this process, on loopback.

use std::{
    fmt::Write as _,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use chatcode_core::protocol::frame;
use chatcode_hub::{HubConfig, Serving};
use chatcode_testkit::redis::RedisServer;
use futures::StreamExt;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use super::{
    FRAME_PAYLOAD, GATEWAY_ID, HUB_SECRET, KEYSTROKE_WARMUP, Latencies, WINDOW_BYTES,
    gateway::RawGateway, keystroke, stand_in_app::StandInApp, target::Target,
};

/// The heading of the section.
pub const HEADING: &str = "## Several hubs benchmark";
/// Longest a run may go without progress.
const STALL: Duration = Duration::from_secs(30);

/// The suite's knobs.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Timed frames per fan-out run.
    pub frames: u64,
    /// Browsers per fan-out run.
    pub browsers: usize,
    /// Runs per side, alternating.
    pub rounds: usize,
    /// Keystrokes timed per side.
    pub keystrokes: usize,
}

async fn start(app_url: &str, redis_url: Option<String>) -> anyhow::Result<Serving> {
    let mut config = HubConfig::new(app_url, HUB_SECRET);
    config.redis_url = redis_url;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    chatcode_hub::serve(config, listener).context("starting a hub")
}

/// Waits until `holds` says the gateway is in place.
async fn until(what: &str, holds: impl Fn() -> bool) -> anyhow::Result<()> {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !holds() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .with_context(|| format!("{what} within 10 s"))
}

/// `frames` frames of `FRAME_PAYLOAD` bytes from `gateway` to `browsers` browsers attached
/// through `browsers_on`, the sender never more than a window ahead of the slowest; frames per
/// second per browser (every browser checks it got every seq in order).
async fn fan_out(
    gateway: &RawGateway,
    browsers_on: Target,
    session: &str,
    browsers: usize,
    frames: u64,
) -> anyhow::Result<f64> {
    let window = (WINDOW_BYTES / FRAME_PAYLOAD) as u64;
    let mut readers = JoinSet::new();
    let mut progress = Vec::new();
    for _ in 0..browsers {
        let mut socket = super::target::browser(browsers_on, session).await?;
        let done = Arc::new(AtomicU64::new(0));
        progress.push(done.clone());
        readers.spawn(async move {
            let mut next = 0u64;
            while next < frames {
                let message = tokio::time::timeout(STALL, socket.next())
                    .await
                    .context("a browser stalled")?;
                match message {
                    Some(Ok(Message::Binary(bytes))) => {
                        let seq = frame::decode(&bytes).context("a malformed frame")?.seq;
                        anyhow::ensure!(seq == next, "expected seq {next}, got {seq}");
                        next += 1;
                        done.store(next, Ordering::Release);
                    }
                    Some(Ok(_)) => {}
                    other => anyhow::bail!("the browser socket ended: {other:?}"),
                }
            }
            anyhow::Ok(())
        });
    }
    let payload = vec![b'x'; FRAME_PAYLOAD];
    let started = Instant::now();
    for seq in 0..frames {
        let deadline = Instant::now() + STALL;
        while progress
            .iter()
            .map(|p| p.load(Ordering::Acquire))
            .min()
            .unwrap_or(frames)
            + window
            <= seq
        {
            anyhow::ensure!(Instant::now() < deadline, "no reader progressed for 30 s");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let bytes = frame::encode_output(session, seq, &payload)?;
        gateway.send(Message::binary(bytes)).await?;
    }
    while let Some(read) = readers.join_next().await {
        read??;
    }
    Ok(frames as f64 / started.elapsed().as_secs_f64())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or_default()
}

/// Runs the suite; returns the report section.
pub async fn run(options: Options) -> anyhow::Result<String> {
    let app = StandInApp::serve().await?;
    let redis = RedisServer::start()?;
    let solo = start(&app.url(), None).await?;
    let a = start(&app.url(), Some(redis.url())).await?;
    let b = start(&app.url(), Some(redis.url())).await?;
    let solo_gateway = RawGateway::connect(Target::Hub(solo.addr)).await?;
    let b_gateway = RawGateway::connect(Target::Hub(b.addr)).await?;
    until("the gateway links to the lone hub", || {
        solo.hub
            .existing(GATEWAY_ID)
            .is_some_and(|g| g.is_connected())
    })
    .await?;
    until("hub B claims the gateway", || {
        b.hub.cluster.as_ref().is_some_and(|c| c.owned_count() == 1)
    })
    .await?;

    let (mut one, mut two) = (Vec::new(), Vec::new());
    for round in 0..options.rounds {
        eprintln!(
            "hubs, round {}: fan-out to {} browsers…",
            round + 1,
            options.browsers
        );
        let session = format!("ses-hubs-fan-{round}");
        let fan =
            |gateway, target| fan_out(gateway, target, &session, options.browsers, options.frames);
        one.push(
            fan(&solo_gateway, Target::Hub(solo.addr))
                .await
                .context("one hub")?,
        );
        two.push(
            fan(&b_gateway, Target::Hub(a.addr))
                .await
                .context("two hubs")?,
        );
    }

    let rounds = 10;
    let per_round = options.keystrokes.div_ceil(rounds);
    let (mut keys_one, mut keys_two) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        eprintln!("hubs, round {}: keystroke round trips…", round + 1);
        let session = format!("ses-hubs-key-{round}");
        let solo_target = Target::Hub(solo.addr);
        let ours = keystroke::through_gateway(solo_target, &session, KEYSTROKE_WARMUP, per_round);
        keys_one.extend(ours.await.context("keystrokes on one hub")?);
        let across =
            keystroke::through_gateway(Target::Hub(a.addr), &session, KEYSTROKE_WARMUP, per_round);
        keys_two.extend(across.await.context("keystrokes across two hubs")?);
    }
    let bridged = b.hub.metrics.render();
    let counter = |name: &str| {
        bridged
            .lines()
            .find_map(|line| {
                line.strip_prefix(name)?
                    .strip_prefix(' ')?
                    .parse::<u64>()
                    .ok()
            })
            .unwrap_or_default()
    };
    let (publishes, records, deliveries) = (
        counter("chatcode_hub_bridge_publishes_total"),
        counter("chatcode_hub_bridge_records_total"),
        counter("chatcode_hub_bridge_deliveries_total"),
    );
    drop((solo_gateway, b_gateway));
    for hub in [solo, a, b] {
        hub.shutdown().await;
    }

    let (one, two) = (median(one), median(two));
    let (keys_one, keys_two) = (Latencies::from(keys_one), Latencies::from(keys_two));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut report = String::new();
    writeln!(report, "{HEADING}\n")?;
    writeln!(
        report,
        "Browsers on hub A, the gateway on hub B, one `redis-server` between them (pub/sub \
         carries every frame and message), against browsers and gateway on one hub alone. \
         All hubs in one process on loopback; {} browsers, {} frames of {} KiB per run, the \
         sender at most {} KiB ahead of the slowest reader; medians of {} alternating rounds. \
         Keystrokes: {} per side in {} alternating slices, one at a time, the gateway echoing \
         each as an output frame.\n",
        options.browsers,
        options.frames,
        FRAME_PAYLOAD / 1024,
        WINDOW_BYTES / 1024,
        options.rounds,
        keys_one.count,
        rounds,
    )?;
    writeln!(
        report,
        "| measure | one hub | two hubs | ratio (two / one) |"
    )?;
    writeln!(report, "| --- | --- | --- | --- |")?;
    writeln!(
        report,
        "| fan-out, frames/s per browser | {one:.0} | {two:.0} | {:.2} |",
        two / one
    )?;
    writeln!(
        report,
        "| fan-out, MiB/s delivered | {:.1} | {:.1} | {:.2} |",
        one * options.browsers as f64 * FRAME_PAYLOAD as f64 / 1048576.0,
        two * options.browsers as f64 * FRAME_PAYLOAD as f64 / 1048576.0,
        two / one
    )?;
    writeln!(
        report,
        "| keystroke round trip p50 (ms) | {:.3} | {:.3} | {:.2} |",
        ms(keys_one.p50),
        ms(keys_two.p50),
        ms(keys_two.p50) / ms(keys_one.p50)
    )?;
    writeln!(
        report,
        "| keystroke round trip p99 (ms) | {:.3} | {:.3} | {:.2} |",
        ms(keys_one.p99),
        ms(keys_two.p99),
        ms(keys_two.p99) / ms(keys_one.p99)
    )?;
    writeln!(
        report,
        "\nThrough Redis, hub B sent {publishes} pub/sub messages to hub A's browsers, carrying \
         {records} messages once each for {deliveries} browser deliveries.",
    )?;
    Ok(report)
}
