//! P7: resident memory per idle attached browser socket. Each side is measured in a fresh
//! process (`idle-probe`) that serves only the server under test, while another process
//! (`idle-clients`) holds the browsers, so neither client memory nor earlier runs' freed heap
//! blurs the delta, and each process needs only one descriptor per socket.

use std::{process::Stdio, time::Duration};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, BufReader},
    process::Command,
};

use super::{
    gateway::RawGateway,
    rss,
    server_process::Served,
    target::{Target, browser},
};

/// The session every idle browser attaches to.
const SESSION: &str = "ses-idle";
/// Dials in flight at once.
const DIAL_CONCURRENCY: usize = 64;
/// The read buffer of [`Kind::BaselineSmallReads`].
pub const SMALL_READ_BUFFER: usize = 4096;
/// Longest the sockets may take to open and register.
const OPEN_TIMEOUT: Duration = Duration::from_secs(180);

/// Which server a probe runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// The hub, with its stand-in app and a connected raw gateway.
    Hub,
    /// The raw tokio-tungstenite server.
    Baseline,
    /// The raw server with 4 KiB read buffers instead of tungstenite's 128 KiB.
    BaselineSmallReads,
}

/// One side's memory.
#[derive(Debug, Clone, Copy)]
pub struct Idle {
    /// Sockets held.
    pub sockets: usize,
    /// RSS growth per socket, in bytes.
    pub per_socket: f64,
}

/// Runs a probe process for `kind` (a hub using the app at `app_url`) with `sockets` idle
/// browsers.
pub async fn measure(kind: Kind, sockets: usize, app_url: &str) -> anyhow::Result<Idle> {
    let output = child("idle-probe", kind)?
        .args(["--sockets", &sockets.to_string(), "--app-url", app_url])
        .output()
        .await
        .context("running the idle probe")?;
    anyhow::ensure!(
        output.status.success(),
        "the {kind:?} idle probe failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .last()
        .context("the idle probe printed nothing")?;
    let report: serde_json::Value =
        serde_json::from_str(line).with_context(|| format!("idle probe said {line:?}"))?;
    let field = |name: &str| {
        report[name]
            .as_u64()
            .with_context(|| format!("no {name} in {line:?}"))
    };
    let (before, after) = (field("rss_before")?, field("rss_after")?);
    Ok(Idle {
        sockets,
        per_socket: after.saturating_sub(before) as f64 / sockets.max(1) as f64,
    })
}

/// The benchmark binary as `subcommand --kind kind`, killed if its handle is dropped.
pub(super) fn child(subcommand: &str, kind: Kind) -> anyhow::Result<Command> {
    let exe = std::env::current_exe().context("locating the benchmark binary")?;
    let kind = match kind {
        Kind::Hub => "hub",
        Kind::Baseline => "baseline",
        Kind::BaselineSmallReads => "baseline-small-reads",
    };
    let mut command = Command::new(exe);
    command
        .args([subcommand, "--kind", kind])
        .kill_on_drop(true);
    Ok(command)
}

/// The probe process: serves `kind`, opens `sockets` browsers from a client process, and
/// prints `{"rss_before": …, "rss_after": …}` (bytes) once they are all registered.
pub async fn probe(kind: Kind, sockets: usize, app_url: &str) -> anyhow::Result<()> {
    let served = Served::start(kind, app_url).await?;
    let target = match kind {
        Kind::Hub => Target::Hub(served.addr()),
        Kind::Baseline | Kind::BaselineSmallReads => Target::Baseline(served.addr()),
    };
    let _gateway = match kind {
        Kind::Hub => Some(RawGateway::connect(target).await?),
        Kind::Baseline | Kind::BaselineSmallReads => None,
    };
    let count = || served.browsers();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss::current()?;
    let addr = served.addr();
    let mut clients = child("idle-clients", kind)?
        .args([
            "--addr",
            &addr.to_string(),
            "--sockets",
            &sockets.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the idle clients")?;
    let stdout = clients.stdout.take().context("no client stdout")?;
    let opened = tokio::time::timeout(OPEN_TIMEOUT, async {
        let mut lines = BufReader::new(stdout).lines();
        while let Some(line) = lines.next_line().await? {
            if line.starts_with("ready") {
                break;
            }
        }
        while count() < sockets {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::Ok(())
    })
    .await;
    opened
        .context("the idle sockets did not all open in time")?
        .context("reading the idle clients")?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = rss::current()?;
    println!(
        "{}",
        serde_json::json!({ "rss_before": rss_before, "rss_after": rss_after, "open": count() })
    );
    drop(clients.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(10), clients.wait()).await;
    Ok(())
}

/// The client process: holds `sockets` browsers attached to `addr`, reading and discarding
/// what they get, prints `ready`, and exits when stdin closes.
pub async fn clients(kind: Kind, addr: std::net::SocketAddr, sockets: usize) -> anyhow::Result<()> {
    let target = match kind {
        Kind::Hub => Target::Hub(addr),
        Kind::Baseline | Kind::BaselineSmallReads => Target::Baseline(addr),
    };
    let opened: Vec<_> = futures::stream::iter(0..sockets)
        .map(|_| browser(target, SESSION))
        .buffer_unordered(DIAL_CONCURRENCY)
        .try_collect()
        .await?;
    let mut readers = Vec::with_capacity(opened.len());
    for mut socket in opened {
        readers.push(tokio::spawn(async move {
            while let Some(Ok(_)) = socket.next().await {}
        }));
    }
    println!("ready {}", readers.len());
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    Ok(())
}
