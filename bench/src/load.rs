//! A closed-loop HTTP/1.1 load generator: N keep-alive connections, each
//! sending the next request as soon as the previous answer is read.
//!
//! Two servers are compared in alternating slices. The client runs on a thread of its own, as a separate client process would: a server
//! under test never shares the client's scheduler, so neither side gets its wake-ups free.

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
    /// A JSON body to send with each request.
    pub body: Option<&'static str>,
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

/// Rounds each comparison is split into, alternating the two sides, so drift in the
/// machine's load spreads over both.
const ROUNDS: u32 = 5;

/// Runs `connections` loops against `ours` and `base` for `duration` each after a warm-up,
/// alternating the two in [`ROUNDS`] slices, on the client's own thread.
pub async fn compare(
    ours: &Target,
    base: &Target,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<(Measured, Measured)> {
    let (ours, base) = (ours.clone(), base.clone());
    let (done, answer) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("load-client".into())
        .spawn(move || {
            let measured = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("building the client runtime")
                .and_then(|client| client.block_on(alternate(&ours, &base, connections, duration)));
            let _ = done.send(measured);
        })
        .context("starting the client thread")?;
    answer.await.context("the client thread panicked")?
}

async fn alternate(
    ours: &Target,
    base: &Target,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<(Measured, Measured)> {
    let warm = Duration::from_millis(500).min(duration / 4);
    drive(ours, connections, warm).await?;
    drive(base, connections, warm).await?;
    let slice = duration / ROUNDS;
    let (mut ours_run, mut base_run) = (Run::default(), Run::default());
    for _ in 0..ROUNDS {
        ours_run.add(ours, connections, slice).await?;
        base_run.add(base, connections, slice).await?;
    }
    Ok((ours_run.measured()?, base_run.measured()?))
}

/// Latencies and time pooled over a side's slices.
#[derive(Default)]
struct Run {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Run {
    async fn add(
        &mut self,
        target: &Target,
        connections: usize,
        slice: Duration,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        self.latencies
            .extend(drive(target, connections, slice).await?);
        self.elapsed += started.elapsed();
        Ok(())
    }

    fn measured(mut self) -> anyhow::Result<Measured> {
        if self.latencies.is_empty() {
            bail!("no request completed");
        }
        self.latencies.sort_unstable();
        let pick = |q: f64| self.latencies[((self.latencies.len() - 1) as f64 * q) as usize];
        Ok(Measured {
            rps: self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            p50: pick(0.50),
            p99: pick(0.99),
        })
    }
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
        let mut request = Request::builder()
            .method(target.method)
            .uri(path)
            .header("host", target.addr.to_string());
        if target.body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let body = target
            .body
            .map_or_else(Bytes::new, |body| Bytes::from_static(body.as_bytes()));
        let request = request.body(Full::new(body))?;
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
