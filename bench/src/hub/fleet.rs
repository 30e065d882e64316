//! P9: the hub holding idle gateways, each with one idle browser on a session of its own: its
//! RSS. The hub runs in a fresh process (`fleet-probe`) with nothing else in it; the gateways
//! and the browsers are held by two more processes (`fleet-clients`), so each process stays
//! within its open-files limit.

use std::{process::Stdio, time::Duration};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, BufReader},
    process::{Child, Command},
};

use super::{
    FLEET_PREFIX,
    gateway::RawGateway,
    idle::Kind,
    rss,
    server_process::Served,
    target::{Target, browser_of},
};

/// Dials in flight at once.
const DIAL_CONCURRENCY: usize = 64;
/// Longest the sockets may take to open and register.
const OPEN_TIMEOUT: Duration = Duration::from_secs(300);

/// What the fleet cost the hub.
#[derive(Debug, Clone, Copy)]
pub struct Fleet {
    /// Gateways linked (and as many browsers attached).
    pub gateways: usize,
    /// The hub process's RSS before the first gateway, in bytes.
    pub rss_before: u64,
    /// Its RSS with every gateway and browser connected.
    pub rss_after: u64,
}

/// Which half of the fleet a client process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// The gateways, `gw-bench-<n>`.
    Gateways,
    /// One browser per gateway, on its session `ses-fleet-<n>`.
    Browsers,
}

/// Runs a probe process with `gateways` gateways and as many browsers.
pub async fn measure(gateways: usize, app_url: &str) -> anyhow::Result<Fleet> {
    let exe = std::env::current_exe().context("locating the benchmark binary")?;
    let output = Command::new(exe)
        .args(["fleet-probe", "--gateways", &gateways.to_string()])
        .args(["--app-url", app_url])
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .output()
        .await
        .context("running the fleet probe")?;
    anyhow::ensure!(
        output.status.success(),
        "the fleet probe failed ({})",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .last()
        .context("the fleet probe printed nothing")?;
    let report: serde_json::Value =
        serde_json::from_str(line).with_context(|| format!("fleet probe said {line:?}"))?;
    let field = |name: &str| {
        report[name]
            .as_u64()
            .with_context(|| format!("no {name} in {line:?}"))
    };
    Ok(Fleet {
        gateways,
        rss_before: field("rss_before")?,
        rss_after: field("rss_after")?,
    })
}

/// The probe process: serves the hub, has `gateways` gateways then as many browsers connect
/// from two client processes, and prints `{"rss_before": …, "rss_after": …}` (bytes).
pub async fn probe(gateways: usize, app_url: &str) -> anyhow::Result<()> {
    let served = Served::start(Kind::Hub, app_url).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss::current()?;
    let addr = served.addr();
    let mut held = Vec::new();
    for role in [Role::Gateways, Role::Browsers] {
        let mut clients = clients_process(addr, gateways, role)?;
        let stdout = clients.stdout.take().context("no client stdout")?;
        held.push(clients);
        let opened = tokio::time::timeout(OPEN_TIMEOUT, async {
            let mut lines = BufReader::new(stdout).lines();
            while let Some(line) = lines.next_line().await? {
                if line.starts_with("ready") {
                    break;
                }
            }
            let count = || match role {
                Role::Gateways => served.gateways(),
                Role::Browsers => served.browsers(),
            };
            while count() < gateways {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            anyhow::Ok(())
        })
        .await;
        opened
            .with_context(|| format!("the fleet's {role:?} did not all connect in time"))?
            .with_context(|| format!("reading the fleet's {role:?}"))?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = rss::current()?;
    println!(
        "{}",
        serde_json::json!({ "rss_before": rss_before, "rss_after": rss_after })
    );
    for mut clients in held {
        drop(clients.stdin.take());
        let _ = tokio::time::timeout(Duration::from_secs(10), clients.wait()).await;
    }
    Ok(())
}

fn clients_process(
    addr: std::net::SocketAddr,
    gateways: usize,
    role: Role,
) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("locating the benchmark binary")?;
    let role = match role {
        Role::Gateways => "gateways",
        Role::Browsers => "browsers",
    };
    Command::new(exe)
        .args(["fleet-clients", "--addr", &addr.to_string()])
        .args(["--gateways", &gateways.to_string(), "--role", role])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the fleet's clients")
}

/// A client process: holds `role` for `gateways` gateways of the hub at `addr`, prints
/// `ready`, and exits when stdin closes.
pub async fn clients(
    addr: std::net::SocketAddr,
    gateways: usize,
    role: Role,
) -> anyhow::Result<()> {
    let target = Target::Hub(addr);
    let mut held = Vec::with_capacity(gateways);
    match role {
        Role::Gateways => {
            let opened: Vec<RawGateway> = futures::stream::iter(0..gateways)
                .map(|n| async move {
                    RawGateway::connect_as(target, &format!("{FLEET_PREFIX}{n}")).await
                })
                .buffer_unordered(DIAL_CONCURRENCY)
                .try_collect()
                .await?;
            println!("ready {}", opened.len());
            let mut sink = Vec::new();
            let _ = tokio::io::stdin().read_to_end(&mut sink).await;
            drop(opened);
        }
        Role::Browsers => {
            let opened: Vec<_> = futures::stream::iter(0..gateways)
                .map(|n| async move {
                    let gateway = format!("{FLEET_PREFIX}{n}");
                    browser_of(target, &gateway, &format!("ses-fleet-{n}")).await
                })
                .buffer_unordered(DIAL_CONCURRENCY)
                .try_collect()
                .await?;
            for mut socket in opened {
                held.push(tokio::spawn(async move {
                    while let Some(Ok(_)) = socket.next().await {}
                }));
            }
            println!("ready {}", held.len());
            let mut sink = Vec::new();
            let _ = tokio::io::stdin().read_to_end(&mut sink).await;
        }
    }
    Ok(())
}
