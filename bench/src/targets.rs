//! Issue 18's targets, each next to the figure this run measured and its baseline from the
//! same run, with the command that produced them.

use std::{fmt::Write as _, time::Duration};

use crate::load::Measured;

/// Figures of one row at each connection count: `(connections, ours, baseline)`.
pub type Rows = [(usize, Measured, Measured)];

/// The command line of this run, as it can be typed again.
pub fn command() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut line = String::from("cargo run --release -p chatcode-bench --");
    for arg in args {
        line.push(' ');
        line.push_str(&arg);
    }
    line.trim_end_matches(" --").to_owned()
}

/// The runtime suite's targets: the empty handler's throughput ratio at the most connections
/// and its p50 overhead at one, and the development login's tail at the most connections.
pub fn runtime(empty_handler: &Rows, login: &Rows) -> String {
    let mut out = String::from("\nIssue 18's targets in this run:\n\n");
    out.push_str("| what | this run | baseline (same run) | target | met |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    if let Some((connections, ours, base)) = most_connections(login) {
        let ratio = ours.p99.as_secs_f64() / ours.p50.as_secs_f64().max(1e-9);
        let _ = writeln!(
            out,
            "| `POST /auth/dev/login`, {connections} connections | p50 {} / p99 {} (p99 = {ratio:.1}× p50), {:.0} req/s | p50 {} / p99 {}, {:.0} req/s | p99 ≤ 5× p50, no throughput lost | {} |",
            ms(ours.p50),
            ms(ours.p99),
            ours.rps,
            ms(base.p50),
            ms(base.p99),
            base.rps,
            yes(ratio <= 5.0),
        );
    }
    if let Some((connections, ours, base)) = most_connections(empty_handler) {
        let ratio = ours.rps / base.rps;
        let _ = writeln!(
            out,
            "| empty handler, {connections} connections | {:.0} req/s ({ratio:.2}×) | {:.0} req/s | ≥ 0.3× | {} |",
            ours.rps,
            base.rps,
            yes(ratio >= 0.3),
        );
    }
    if let Some((_, ours, base)) = empty_handler.iter().find(|(c, _, _)| *c == 1) {
        let overhead = ours.p50.as_micros() as i128 - base.p50.as_micros() as i128;
        let _ = writeln!(
            out,
            "| per-request overhead, empty handler, 1 connection | p50 {} ({overhead:+} µs) | p50 {} | ≤ +60 µs | {} |",
            us(ours.p50),
            us(base.p50),
            yes(overhead <= 60),
        );
    }
    let _ = writeln!(out, "\nCommand: `{}`", command());
    out
}

/// The relay suite's target at one rate: the component's cost over the hub alone.
pub fn relay_row(
    rate: u32,
    through_app: (Duration, Duration),
    hub_only: (Duration, Duration),
) -> String {
    let p50 = through_app.0.as_micros() as i128 - hub_only.0.as_micros() as i128;
    let p99 = through_app.1.as_micros() as i128 - hub_only.1.as_micros() as i128;
    format!(
        "| relay through the app at {rate} req/s | p50 {} / p99 {} ({p50:+} µs / {p99:+} µs) | hub alone p50 {} / p99 {} | ≤ +500 µs p50, ≤ +1,500 µs p99 | {} |\n",
        us(through_app.0),
        us(through_app.1),
        us(hub_only.0),
        us(hub_only.1),
        yes(p50 <= 500 && p99 <= 1500),
    )
}

fn most_connections(rows: &Rows) -> Option<&(usize, Measured, Measured)> {
    rows.iter().max_by_key(|(connections, _, _)| *connections)
}

fn us(d: Duration) -> String {
    format!("{} µs", d.as_micros())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn yes(met: bool) -> &'static str {
    if met { "yes" } else { "**no**" }
}
