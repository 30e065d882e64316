//! The servers under test of P1–P4, each in a process of its own (`serve-under-test`), as
//! they run in production: the hub's memory is the hub process's alone, and the benchmark's
//! clients never share its scheduler. The parent asks the child for its RSS and the hub's
//! counters over the child's stdin and stdout, one JSON line per question.

use std::{net::SocketAddr, process::Stdio, time::Duration};

use anyhow::Context;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout},
    sync::Mutex,
};

use super::{GATEWAY_ID, baseline, idle::Kind, rss, start_hub};

/// Longest a child may take to start serving or to answer a question.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// A server under test running in a child process; killed when dropped.
pub struct ServerProcess {
    /// Its WebSocket (and, for the hub, HTTP) address.
    pub addr: SocketAddr,
    /// Where its relay route answers: the hub itself, or the baseline's trivial axum handler.
    pub relay_addr: SocketAddr,
    channel: Mutex<(ChildStdin, Lines<BufReader<ChildStdout>>)>,
    _child: Child,
}

/// The child's RSS, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// `VmRSS` now.
    pub current: u64,
    /// `VmHWM` since the last [`ServerProcess::reset_peak`].
    pub peak: u64,
}

impl ServerProcess {
    /// Starts the benchmark binary as `serve-under-test --kind kind` (a hub using the app at
    /// `app_url`) and waits for its address.
    pub async fn start(kind: Kind, app_url: &str) -> anyhow::Result<Self> {
        let mut child = super::idle::child("serve-under-test", kind)?
            .args(["--app-url", app_url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting a server under test")?;
        let stdin = child.stdin.take().context("no child stdin")?;
        let stdout = child.stdout.take().context("no child stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let hello = next_json(&mut lines)
            .await
            .context("the server never started")?;
        let addr = |name: &str| -> anyhow::Result<SocketAddr> {
            hello[name]
                .as_str()
                .and_then(|a| a.parse().ok())
                .with_context(|| format!("no {name} in {hello}"))
        };
        Ok(Self {
            addr: addr("addr")?,
            relay_addr: addr("relay_addr")?,
            channel: Mutex::new((stdin, lines)),
            _child: child,
        })
    }

    /// Its resident memory.
    pub async fn memory(&self) -> anyhow::Result<Memory> {
        let answer = self.ask("memory").await?;
        Ok(Memory {
            current: field(&answer, "rss")?,
            peak: field(&answer, "peak")?,
        })
    }

    /// Resets its peak RSS to the current one.
    pub async fn reset_peak(&self) -> anyhow::Result<()> {
        self.ask("reset-peak").await.map(drop)
    }

    /// Whether the benchmark's gateway is linked to the hub.
    pub async fn gateway_linked(&self) -> anyhow::Result<bool> {
        let answer = self.ask("stats").await?;
        Ok(answer["gateway_linked"].as_bool().unwrap_or(false))
    }

    /// Browsers the hub has closed for falling behind.
    pub async fn evictions(&self) -> anyhow::Result<u64> {
        field(&self.ask("stats").await?, "evictions")
    }

    async fn ask(&self, question: &str) -> anyhow::Result<Value> {
        let mut channel = self.channel.lock().await;
        let (stdin, lines) = &mut *channel;
        stdin.write_all(format!("{question}\n").as_bytes()).await?;
        stdin.flush().await?;
        let answer = next_json(lines).await?;
        if let Some(error) = answer["error"].as_str() {
            anyhow::bail!("the server under test answered {question:?} with: {error}");
        }
        Ok(answer)
    }
}

async fn next_json(lines: &mut Lines<BufReader<ChildStdout>>) -> anyhow::Result<Value> {
    let line = tokio::time::timeout(ANSWER_TIMEOUT, lines.next_line())
        .await
        .context("the server under test did not answer in time")??
        .context("the server under test exited")?;
    serde_json::from_str(&line).with_context(|| format!("the server under test said {line:?}"))
}

fn field(answer: &Value, name: &str) -> anyhow::Result<u64> {
    answer[name]
        .as_u64()
        .with_context(|| format!("no {name} in {answer}"))
}

/// The child: serves `kind` (a hub using the app at `app_url`), prints its addresses, then
/// answers questions on stdin until it closes.
pub async fn serve(kind: Kind, app_url: &str) -> anyhow::Result<()> {
    let server = Served::start(kind, app_url).await?;
    println!(
        "{}",
        json!({ "addr": server.addr().to_string(), "relay_addr": server.relay_addr().to_string() })
    );
    let mut questions = BufReader::new(tokio::io::stdin()).lines();
    while let Some(question) = questions.next_line().await? {
        let answer = match question.trim() {
            "memory" => json!({ "rss": rss::current()?, "peak": rss::peak()? }),
            "reset-peak" => {
                rss::reset_peak()?;
                json!({})
            }
            "stats" => server.stats(),
            other => json!({ "error": format!("unknown question {other:?}") }),
        };
        println!("{answer}");
    }
    if let Served::Hub(serving) = server {
        serving.shutdown().await;
    }
    Ok(())
}

/// What a server process serves.
pub(super) enum Served {
    Hub(chatcode_hub::Serving),
    Baseline {
        server: baseline::WsServer,
        http: SocketAddr,
    },
}

impl Served {
    /// Starts `kind` on `127.0.0.1:0` (a hub using the app at `app_url`).
    pub(super) async fn start(kind: Kind, app_url: &str) -> anyhow::Result<Self> {
        Ok(match kind {
            Kind::Hub => Self::Hub(start_hub(app_url).await?),
            Kind::Baseline | Kind::BaselineSmallReads => {
                let read_buffer =
                    (kind == Kind::BaselineSmallReads).then_some(super::idle::SMALL_READ_BUFFER);
                Self::Baseline {
                    server: baseline::WsServer::start_with(read_buffer).await?,
                    http: baseline::serve_trivial_http().await?,
                }
            }
        })
    }

    /// Where its WebSockets connect.
    pub(super) fn addr(&self) -> SocketAddr {
        match self {
            Self::Hub(serving) => serving.addr,
            Self::Baseline { server, .. } => server.addr,
        }
    }

    fn relay_addr(&self) -> SocketAddr {
        match self {
            Self::Hub(serving) => serving.addr,
            Self::Baseline { http, .. } => *http,
        }
    }

    /// Gateways linked to it now (the hub only).
    pub(super) fn gateways(&self) -> usize {
        match self {
            Self::Hub(serving) => serving
                .hub
                .all()
                .iter()
                .filter(|g| g.is_connected())
                .count(),
            Self::Baseline { .. } => 0,
        }
    }

    /// Browser sockets it holds now.
    pub(super) fn browsers(&self) -> usize {
        match self {
            Self::Hub(serving) => serving.hub.all().iter().map(|g| g.browser_count()).sum(),
            Self::Baseline { server, .. } => server.connected(),
        }
    }

    fn stats(&self) -> Value {
        match self {
            Self::Hub(serving) => json!({
                "gateway_linked": serving
                    .hub
                    .existing(GATEWAY_ID)
                    .is_some_and(|g| g.is_connected()),
                "evictions": super::evictions(serving),
            }),
            Self::Baseline { .. } => json!({ "error": "the baseline keeps no stats" }),
        }
    }
}
