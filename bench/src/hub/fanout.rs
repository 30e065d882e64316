//! P1/P2: one gateway's output frames fanned out to many browsers of one session, paced by a
//! window so the sender is never more than `window` frames ahead of the slowest reader. Each
//! browser checks that seqs arrive in order with none missing and hashes the payloads.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use chatcode_core::protocol::frame;
use futures::StreamExt;
use tokio::{sync::Notify, task::JoinSet};
use tokio_tungstenite::tungstenite::Message;

use super::{
    gateway::RawGateway,
    server_process::ServerProcess,
    target::{Socket, Target, browser},
};

/// A reader wakes the sender after this many frames.
const NOTIFY_EVERY: u64 = 16;
/// The run fails if no reader makes progress for this long.
const STALL: Duration = Duration::from_secs(20);

/// One fan-out run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// A session id not used by another run.
    pub session_id: String,
    /// Browsers attached.
    pub browsers: usize,
    /// Frames sent before the clock starts (all browsers read them).
    pub warmup: u64,
    /// Frames timed.
    pub frames: u64,
    /// Payload bytes per frame.
    pub payload: usize,
    /// Most frames the sender may be ahead of the slowest reader.
    pub window: u64,
    /// Whether browser 0 stops reading after the warm-up (P2).
    pub one_stuck: bool,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Browsers that read to the end.
    pub readers: usize,
    /// Timed frames per second, per browser.
    pub frames_per_sec: f64,
    /// Payload MiB per second delivered, over all readers.
    pub mib_per_sec: f64,
    /// Frames missing, over all readers.
    pub lost: u64,
    /// Frames out of order or repeated, over all readers.
    pub reordered: u64,
    /// Readers whose payload hash differs from the sender's.
    pub hash_mismatches: usize,
    /// RSS when the timed phase started (bytes).
    pub rss_before: u64,
    /// RSS when it ended.
    pub rss_after: u64,
    /// Peak RSS during it.
    pub rss_peak: u64,
}

/// The rounds of one side: medians of throughput and RSS growth, sums of the errors.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Browsers that read to the end, per round.
    pub readers: usize,
    /// Median frames per second.
    pub frames_per_sec: f64,
    /// Median MiB per second delivered.
    pub mib_per_sec: f64,
    /// Each round's frames per second, in order.
    pub rounds: Vec<f64>,
    /// Frames missing, over all rounds.
    pub lost: u64,
    /// Frames out of order, over all rounds.
    pub reordered: u64,
    /// Readers with a wrong hash, over all rounds.
    pub hash_mismatches: usize,
    /// Median RSS growth to the peak (bytes).
    pub rss_peak_growth: u64,
    /// Median RSS growth from start to end (bytes).
    pub rss_end_growth: u64,
}

impl Summary {
    /// Summarizes `outcomes` (at least one).
    pub fn of(outcomes: &[Outcome]) -> Self {
        let median = |mut values: Vec<f64>| {
            values.sort_by(f64::total_cmp);
            values.get(values.len() / 2).copied().unwrap_or(0.0)
        };
        let each = |f: fn(&Outcome) -> f64| median(outcomes.iter().map(f).collect());
        Self {
            readers: outcomes.first().map_or(0, |o| o.readers),
            frames_per_sec: each(|o| o.frames_per_sec),
            mib_per_sec: each(|o| o.mib_per_sec),
            rounds: outcomes.iter().map(|o| o.frames_per_sec).collect(),
            lost: outcomes.iter().map(|o| o.lost).sum(),
            reordered: outcomes.iter().map(|o| o.reordered).sum(),
            hash_mismatches: outcomes.iter().map(|o| o.hash_mismatches).sum(),
            rss_peak_growth: each(|o| o.rss_peak.saturating_sub(o.rss_before) as f64) as u64,
            rss_end_growth: each(|o| o.rss_after.saturating_sub(o.rss_before) as f64) as u64,
        }
    }
}

struct Tally {
    lost: u64,
    reordered: u64,
    hash: u64,
    done_at: Instant,
}

/// Runs `spec` against `server`, whose gateway is `gateway`.
pub async fn run(
    server: &ServerProcess,
    target: Target,
    gateway: &RawGateway,
    spec: &Spec,
) -> anyhow::Result<Outcome> {
    let total = spec.warmup + spec.frames;
    let progress: Arc<[AtomicU64]> = (0..spec.browsers).map(|_| AtomicU64::new(0)).collect();
    let notify = Arc::new(Notify::new());
    let mut readers = JoinSet::new();
    let mut stuck = None;
    for index in 0..spec.browsers {
        let socket = browser(target, &spec.session_id)
            .await
            .with_context(|| format!("attaching browser {index}"))?;
        let stop_after = (spec.one_stuck && index == 0).then_some(spec.warmup);
        let (progress, notify, session) =
            (progress.clone(), notify.clone(), spec.session_id.clone());
        let handle = readers.spawn(async move {
            read(
                socket,
                &session,
                total,
                stop_after,
                &progress[index],
                &notify,
            )
            .await
        });
        if stop_after.is_some() {
            stuck = Some(handle);
        }
    }
    let first_reader = usize::from(spec.one_stuck);
    let mut hash = HASH_SEED;
    let mut started = Instant::now();
    let (mut rss_before, mut sent) = (0, 0);
    for seq in 0..total {
        if seq == spec.warmup {
            wait_for(&progress, 0, spec.warmup, &notify).await?;
            rss_before = server.memory().await?.current;
            server.reset_peak().await?;
            started = Instant::now();
        }
        let floor = if seq < spec.warmup { 0 } else { first_reader };
        wait_for(
            &progress,
            floor,
            (seq + 1).saturating_sub(spec.window),
            &notify,
        )
        .await?;
        let payload = payload(seq, spec.payload);
        hash = fold(hash, &payload);
        let bytes = frame::encode_output(&spec.session_id, seq, &payload)?;
        gateway.send(Message::binary(bytes)).await?;
        sent += 1;
    }
    wait_for(&progress, first_reader, total, &notify).await?;
    let memory = server.memory().await?;
    let (rss_after, rss_peak) = (memory.current, memory.peak);
    let mut outcome = Outcome {
        readers: spec.browsers - first_reader,
        frames_per_sec: 0.0,
        mib_per_sec: 0.0,
        lost: 0,
        reordered: 0,
        hash_mismatches: 0,
        rss_before,
        rss_after,
        rss_peak,
    };
    let mut finished = started;
    if let Some(stuck) = stuck {
        stuck.abort();
    }
    while let Some(joined) = readers.join_next().await {
        let tally = match joined {
            Ok(tally) => tally?,
            // Only the stuck browser is aborted.
            Err(e) if e.is_cancelled() => continue,
            Err(e) => anyhow::bail!("a browser task failed: {e}"),
        };
        outcome.lost += tally.lost;
        outcome.reordered += tally.reordered;
        outcome.hash_mismatches += usize::from(tally.hash != hash);
        finished = finished.max(tally.done_at);
    }
    anyhow::ensure!(sent == total, "sent {sent} of {total} frames");
    let seconds = finished.duration_since(started).as_secs_f64().max(1e-9);
    outcome.frames_per_sec = spec.frames as f64 / seconds;
    outcome.mib_per_sec =
        outcome.frames_per_sec * (spec.payload * outcome.readers) as f64 / (1024.0 * 1024.0);
    Ok(outcome)
}

/// Waits until every browser from `from` on has read at least `count` frames.
async fn wait_for(
    progress: &[AtomicU64],
    from: usize,
    count: u64,
    notify: &Notify,
) -> anyhow::Result<()> {
    let mut last = u64::MAX;
    let mut since = Instant::now();
    loop {
        let slowest = progress[from..]
            .iter()
            .map(|p| p.load(Ordering::Acquire))
            .min()
            .unwrap_or(u64::MAX);
        if slowest >= count {
            return Ok(());
        }
        if slowest != last {
            (last, since) = (slowest, Instant::now());
        }
        anyhow::ensure!(
            since.elapsed() < STALL,
            "a browser stalled at frame {slowest} (waiting for {count}): lost or evicted"
        );
        let _ = tokio::time::timeout(Duration::from_millis(100), notify.notified()).await;
    }
}

/// Reads frames until `total` arrived; with `stop_after`, stops reading after that many and
/// holds the socket open until aborted.
async fn read(
    mut socket: Socket,
    session_id: &str,
    total: u64,
    stop_after: Option<u64>,
    progress: &AtomicU64,
    notify: &Notify,
) -> anyhow::Result<Tally> {
    let mut tally = Tally {
        lost: 0,
        reordered: 0,
        hash: HASH_SEED,
        done_at: Instant::now(),
    };
    let (mut expected, mut received) = (0u64, 0u64);
    while received < total {
        if stop_after.is_some_and(|n| received >= n) {
            notify.notify_one();
            std::future::pending::<()>().await;
        }
        let bytes = match socket.next().await {
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e).context("browser socket failed"),
        };
        let frame = frame::decode(&bytes).context("a malformed frame")?;
        if frame.session_id != session_id {
            continue;
        }
        match frame.seq.cmp(&expected) {
            std::cmp::Ordering::Greater => tally.lost += frame.seq - expected,
            std::cmp::Ordering::Less => tally.reordered += 1,
            std::cmp::Ordering::Equal => {}
        }
        expected = frame.seq + 1;
        tally.hash = fold(tally.hash, frame.payload);
        received += 1;
        progress.store(received, Ordering::Release);
        if received % NOTIFY_EVERY == 0 || received == total {
            notify.notify_one();
        }
    }
    tally.done_at = Instant::now();
    if stop_after.is_none() {
        tally.lost += total.saturating_sub(received);
    }
    Ok(tally)
}

const HASH_SEED: u64 = 0xcbf2_9ce4_8422_2325;

/// The payload of frame `seq`: `len` pseudo-random bytes.
fn payload(seq: u64, len: usize) -> Vec<u8> {
    let mut x = seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A cheap order-sensitive hash (FNV-style over 8-byte words).
fn fold(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        hash = (hash ^ u64::from_le_bytes(w)).wrapping_mul(0x0100_0000_01b3);
    }
    for &b in words.remainder() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
