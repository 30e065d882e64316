//! The web console in a real browser (Debian's Chromium through chromedriver): the terminal
//! page's cold load (bytes transferred, requests), and the keystroke → rendered echo latency
//! in the browser next to the same round trip from a plain WebSocket client through the same
//! hub and gateway. The difference is what the browser side costs.

use std::{fmt::Write as _, time::Duration};

use anyhow::Context;
use chatcode_core::protocol::frame;
use chatcode_testkit::Chrome;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::app_relay::stack::Stack;

/// The report section's heading.
pub const HEADING: &str = "## Web console benchmark";

/// Longest any one step may take.
const STEP: Duration = Duration::from_secs(30);

/// Keystrokes timed in the page: each is typed through xterm (`term.input`, as a key press
/// is), and timed until xterm has rendered the echo.
const BROWSER_KEYSTROKES: &str = r"
const [count, done] = [arguments[0], arguments[arguments.length - 1]];
const term = window.chatcode.terminal;
const samples = [];
function one() {
  if (samples.length === count) { done(samples); return; }
  const before = term.buffer.active.cursorX + ',' + term.buffer.active.cursorY;
  const start = performance.now();
  const rendered = term.onRender(() => {
    const now = term.buffer.active.cursorX + ',' + term.buffer.active.cursorY;
    if (now === before) return;
    rendered.dispose();
    samples.push(performance.now() - start);
    setTimeout(one, 5);
  });
  term.input('x', true);
}
one();
";

/// What the page loaded, from the Resource Timing API.
const LOADED: &str = r"
const nav = performance.getEntriesByType('navigation')[0];
const resources = performance.getEntriesByType('resource');
return {
  requests: 1 + resources.length,
  bytes: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
  names: resources.map(r => r.initiatorType + ' ' + new URL(r.name).pathname + ' ' + r.transferSize),
};
";

/// Runs the suite; returns the report section.
pub async fn run(keystrokes: usize, rounds: usize) -> anyhow::Result<String> {
    let stack = Stack::start().await?;
    let result = measure(&stack, keystrokes, rounds).await;
    stack.stop().await;
    let (load, browser, client) = result?;
    let mut out = String::new();
    writeln!(out, "{HEADING}\n")?;
    writeln!(
        out,
        "The terminal page of a running session in headless Chromium {}, against the app on \
         the embedded runtime, the hub and the gateway simulator (1 ms output batches) in one \
         process. Cold load: a fresh profile, signed in by cookie; bytes are the Resource \
         Timing API's `transferSize` (compressed, headers included), and the request count \
         adds the terminal's WebSocket, which that API does not list. Keystrokes: {keystrokes} \
         per side in {rounds} rounds, alternating, one at a time; the browser's is timed from \
         xterm's input to its render of the echo, the client's from the `session.input` \
         message to the echoed frame, each on its own session of the same VPS.\n",
        chrome_version()
    )?;
    writeln!(out, "| measurement | console | baseline | target |")?;
    writeln!(out, "| --- | --- | --- | --- |")?;
    writeln!(
        out,
        "| terminal page cold load, transferred | {:.1} KiB | — | ≤ 350 KiB |",
        load.bytes as f64 / 1024.0
    )?;
    writeln!(
        out,
        "| terminal page cold load, requests | {} | — | ≤ 10 |",
        load.requests
    )?;
    for (name, q) in [("p50", 0.5), ("p99", 0.99)] {
        let ours = quantile(&browser, q);
        let base = quantile(&client, q);
        writeln!(
            out,
            "| keystroke → rendered echo {name} (browser / WebSocket client through the hub) | \
             {ours:.2} ms | {base:.2} ms | browser side +{:.2} ms |",
            ours - base
        )?;
    }
    writeln!(out, "\nRequests of the cold load:\n")?;
    for name in &load.names {
        writeln!(out, "- {name}")?;
    }
    writeln!(
        out,
        "\nCommand: `cargo run --release -p chatcode-bench -- --only console`"
    )?;
    Ok(out)
}

/// A cold load of the terminal page.
struct Load {
    requests: u64,
    bytes: u64,
    names: Vec<String>,
}

async fn measure(
    stack: &Stack,
    keystrokes: usize,
    rounds: usize,
) -> anyhow::Result<(Load, Vec<f64>, Vec<f64>)> {
    let chrome = Chrome::start(1280, 800).await?;
    let page = format!(
        "http://{}/dashboard/vps/{}/sessions/{}",
        stack.app, stack.vps_id, stack.session_id
    );
    // A page of the origin that loads no assets, so the cookie can be set before the cold load.
    chrome
        .client
        .goto(&format!("http://{}/healthz", stack.app))
        .await?;
    // WebDriver will not set a cookie for an IP address; the page of the origin can.
    chrome
        .eval(
            "document.cookie = arguments[0] + '; path=/'; return document.cookie",
            vec![json!(stack.cookie)],
        )
        .await?;
    chrome.client.goto(&page).await?;
    chrome
        .wait_until(
            "the terminal attached",
            "return !!window.chatcode && window.chatcode.wire.state === 'open' && \
             document.querySelector('#terminal').dataset.input === 'enabled'",
            STEP,
        )
        .await?;
    let loaded = chrome.eval(LOADED, Vec::new()).await?;
    let load = Load {
        // The WebSocket is a request too.
        requests: loaded["requests"].as_u64().context("requests")? + 1,
        bytes: loaded["bytes"].as_u64().context("bytes")?,
        names: serde_json::from_value(loaded["names"].clone())?,
    };

    let other = second_session(stack).await?;
    let mut client = Client::attach(stack, &other).await?;
    let per_round = keystrokes.div_ceil(rounds);
    let (mut browser, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let samples = chrome
            .client
            .execute_async(BROWSER_KEYSTROKES, vec![json!(per_round)])
            .await?;
        let samples: Vec<f64> = serde_json::from_value(samples)?;
        browser.extend(samples);
        for _ in 0..per_round {
            plain.push(client.keystroke().await?);
        }
    }
    chrome.close().await;
    Ok((load, browser, plain))
}

/// Starts another session on the stack's VPS (one writer per session: the browser holds the
/// first).
async fn second_session(stack: &Stack) -> anyhow::Result<String> {
    let created: Value = reqwest::Client::new()
        .post(format!(
            "http://{}/vps/{}/sessions",
            stack.app, stack.vps_id
        ))
        .header("cookie", &stack.cookie)
        .json(&json!({"title": "baseline", "agent_type": "none", "workdir": "/root"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    created["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no session id in {created}"))
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A plain WebSocket client on a session's terminal.
struct Client {
    socket: Socket,
    session_id: String,
}

impl Client {
    /// Attaches read-write and waits for the first snapshot.
    async fn attach(stack: &Stack, session_id: &str) -> anyhow::Result<Self> {
        let attach: Value = reqwest::Client::new()
            .post(format!(
                "http://{}/vps/{}/sessions/{session_id}/attach",
                stack.app, stack.vps_id
            ))
            .header("cookie", &stack.cookie)
            .json(&json!({}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let url = attach["url"].as_str().context("an attach URL")?;
        let (socket, _) = tokio_tungstenite::connect_async(url).await?;
        let mut client = Self {
            socket,
            session_id: session_id.to_owned(),
        };
        tokio::time::timeout(STEP, async {
            loop {
                match client.socket.next().await {
                    Some(Ok(Message::Text(text))) if text.contains("\"session.snapshot\"") => {
                        return Ok(());
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(anyhow::Error::from(e)),
                    None => anyhow::bail!("the terminal closed before its snapshot"),
                }
            }
        })
        .await
        .context("no snapshot on attach")??;
        Ok(client)
    }

    /// Types one `x` and waits for its echo: the round trip in milliseconds.
    async fn keystroke(&mut self) -> anyhow::Result<f64> {
        let input = json!({"type": "session.input", "schema_version": "1",
                           "session_id": self.session_id, "data": "eA=="});
        let start = std::time::Instant::now();
        self.socket
            .send(Message::Text(input.to_string().into()))
            .await?;
        loop {
            let message = tokio::time::timeout(STEP, self.socket.next())
                .await
                .context("no echo")?
                .context("the terminal closed")??;
            let Message::Binary(bytes) = message else {
                continue;
            };
            let frame = frame::decode(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
            let (seq, echoed) = (frame.seq, frame.payload.contains(&b'x'));
            let ack = json!({"type": "session.ack", "schema_version": "1",
                             "session_id": self.session_id, "seq": seq});
            self.socket
                .send(Message::Text(ack.to_string().into()))
                .await?;
            if echoed {
                return Ok(start.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
}

fn quantile(samples: &[f64], q: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

fn chrome_version() -> String {
    std::process::Command::new("chromium")
        .arg("--version")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
        .map_or_else(String::new, |v| format!("({v})"))
}
