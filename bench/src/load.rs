//! A closed-loop HTTP/1.1 load generator: N keep-alive connections, each
//! sending the next request as soon as the previous answer is read.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, client::conn::http1};
use hyper_util::rt::TokioIo;

/// What one request looks like.
#[derive(Debug, Clone)]
pub struct Target {
    /// Server address.
    pub addr: SocketAddr,
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Path; `{n}` is replaced by a per-connection counter.
    pub path: String,
}

/// Latencies and throughput of one run.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Requests completed per second.
    pub rps: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

/// Runs `connections` loops against `target` for `duration` after a warm-up.
pub async fn run(
    target: &Target,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let warm = Duration::from_millis(500).min(duration / 4);
    drive(target, connections, warm).await?;
    let started = Instant::now();
    let mut latencies = drive(target, connections, duration).await?;
    let elapsed = started.elapsed();
    if latencies.is_empty() {
        bail!("no request completed");
    }
    latencies.sort_unstable();
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    Ok(Measured {
        rps: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
    })
}

async fn drive(
    target: &Target,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Vec<Duration>> {
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for worker in 0..connections {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            connection(target, worker, deadline).await
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.context("load task panicked")??);
    }
    Ok(all)
}

async fn connection(
    target: Target,
    worker: usize,
    deadline: Instant,
) -> anyhow::Result<Vec<Duration>> {
    let stream = tokio::net::TcpStream::connect(target.addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut latencies = Vec::new();
    let mut n = 0u64;
    while Instant::now() < deadline {
        n += 1;
        let path = target.path.replace("{n}", &format!("{worker}-{}", n % 64));
        let request = Request::builder()
            .method(target.method)
            .uri(path)
            .header("host", target.addr.to_string())
            .body(Full::new(Bytes::new()))?;
        sender
            .ready()
            .await
            .with_context(|| format!("connection to {} closed", target.addr))?;
        let started = Instant::now();
        let response = sender.send_request(request).await?;
        let status = response.status();
        response.into_body().collect().await?;
        if !status.is_success() {
            bail!("{} {} answered {status}", target.method, target.path);
        }
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}
