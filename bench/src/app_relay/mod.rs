//! Relay latency through the app: HTTP → sessions component → hub → simulated gateway → ack,
//! next to the same command posted straight to the hub, both against one gateway in one run.
//! The difference is what the component costs.

pub(crate) mod stack;

use std::{fmt::Write as _, sync::Arc, time::Duration};

use anyhow::Context;
use serde_json::Value;

use crate::{
    hub::{Latencies, relay},
    open_loop,
};
use stack::{HUB_SECRET, Stack};

/// The heading this section starts with.
pub const HEADING: &str = "## Relay through the app";
/// Alternating rounds per rate and path.
const ROUNDS: u32 = 3;

/// One rate's figures.
struct Measured {
    rate: u32,
    through_app: Latencies,
    hub_only: Latencies,
}

/// Measures each of `rates` for `duration` per path; returns the report section.
pub async fn run(rates: &[u32], duration: Duration) -> anyhow::Result<String> {
    eprintln!("relay through the app: starting the app, the hub and a gateway…");
    let stack = Stack::start().await.context("starting the system")?;
    let http = reqwest::Client::new();
    let slice = duration / ROUNDS;
    let mut measured = Vec::new();
    for &rate in rates {
        let (mut through_app, mut hub_only) = (vec![], vec![]);
        // Warm-up, not counted.
        via_app(&http, &stack, rate, slice / 2).await?;
        via_hub(&http, &stack, rate, slice / 2).await?;
        for round in 1..=ROUNDS {
            eprintln!("relay through the app at {rate} req/s, round {round}…");
            through_app.extend(via_app(&http, &stack, rate, slice).await?);
            hub_only.extend(via_hub(&http, &stack, rate, slice).await?);
        }
        measured.push(Measured {
            rate,
            through_app: Latencies::from(through_app),
            hub_only: Latencies::from(hub_only),
        });
    }
    stack.stop().await;
    Ok(render(&measured, duration))
}

/// `GET /vps/:id/sessions/:sid/snapshot` as the signed-in user; every answer must be a 200
/// with the snapshot.
async fn via_app(
    http: &reqwest::Client,
    stack: &Stack,
    rate: u32,
    duration: Duration,
) -> anyhow::Result<Vec<Duration>> {
    let url: Arc<str> = format!(
        "http://{}/vps/{}/sessions/{}/snapshot",
        stack.app, stack.vps_id, stack.session_id
    )
    .into();
    let cookie: Arc<str> = stack.cookie.as_str().into();
    open_loop::drive(rate, duration, |_| {
        let sent = http.get(&*url).header("cookie", &*cookie).send();
        async move {
            let response = sent.await.context("snapshot request failed")?;
            let status = response.status();
            let body: Value = response.json().await.context("snapshot answer")?;
            anyhow::ensure!(
                status == reqwest::StatusCode::OK && body["content"].is_string(),
                "the snapshot route answered {status}: {body}"
            );
            Ok(())
        }
    })
    .await
    .context("relay through the app")
}

/// The same `session.snapshot` posted straight to the hub's relay route.
async fn via_hub(
    http: &reqwest::Client,
    stack: &Stack,
    rate: u32,
    duration: Duration,
) -> anyhow::Result<Vec<Duration>> {
    let session_id = stack.session_id.clone();
    relay::measure(
        http,
        stack.hub,
        &stack.gateway_id,
        HUB_SECRET,
        rate,
        duration,
        move |n| relay::snapshot(&session_id, n),
    )
    .await
    .context("relay straight to the hub")
}

fn render(measured: &[Measured], duration: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{HEADING}\n");
    let _ = writeln!(
        out,
        "`GET /vps/:id/sessions/:sid/snapshot` on the embedded runtime: the sessions component \
         reads the login session, the VPS and the session rows, relays `session.snapshot` \
         through the hub (`POST /internal/gateways/:id/commands`) to a simulated gateway, waits \
         for its ack and snapshot, and answers with it. Next to it, the same command posted \
         straight to the hub's relay route (P4's path) for the same gateway. Open loop, {}s \
         per rate and path in {ROUNDS} alternating rounds, after a warm-up.\n",
        duration.as_secs()
    );
    let _ = writeln!(
        out,
        "| rate | requests per path | app → hub → gateway p50 / p99 | hub → gateway p50 / p99 | the component's cost p50 / p99 |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- |");
    for m in measured {
        let _ = writeln!(
            out,
            "| {} req/s | {} | {} / {} | {} / {} | {} / {} |",
            m.rate,
            m.through_app.count,
            us(m.through_app.p50),
            us(m.through_app.p99),
            us(m.hub_only.p50),
            us(m.hub_only.p99),
            difference(m.through_app.p50, m.hub_only.p50),
            difference(m.through_app.p99, m.hub_only.p99),
        );
    }
    out.push_str("\nIssue 18's target in this run:\n\n");
    out.push_str("| what | this run | baseline (same run) | target | met |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    for m in measured {
        out.push_str(&crate::targets::relay_row(
            m.rate,
            (m.through_app.p50, m.through_app.p99),
            (m.hub_only.p50, m.hub_only.p99),
        ));
    }
    let _ = writeln!(out, "\nCommand: `{}`", crate::targets::command());
    out
}

fn us(d: Duration) -> String {
    format!("{} µs", d.as_micros())
}

fn difference(ours: Duration, base: Duration) -> String {
    let diff = ours.as_micros() as i128 - base.as_micros() as i128;
    format!("{diff:+} µs")
}
