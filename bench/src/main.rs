//! `chatcode-bench`: the embedded runtime against a native baseline, and the hub against raw
//! WebSocket and axum baselines, each measured in one run on the same machine, reported as
//! ratios.
//!
//! ```sh
//! cargo run --release -p chatcode-bench -- --duration 5
//! cargo run --release -p chatcode-bench -- --hub-only
//! ```

mod hub;
mod instantiate;
mod load;
mod native;

use std::{fmt::Write as _, net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use chatcode_runtime::{Runtime, RuntimeOptions};
use clap::{Parser, Subcommand};
use load::{Measured, Target};

/// Benchmark the embedded runtime against axum + rusqlite, and the hub against raw servers.
#[derive(Debug, Parser)]
struct Args {
    /// Seconds each runtime measurement runs, and the hub's relay measurement (P4) per side.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Concurrent connections for the throughput runs.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Where to write the Markdown report.
    #[arg(long, default_value = "bench/report.md")]
    report: PathBuf,
    /// Run only the hub benchmarks (no wasm components needed); the report keeps its runtime
    /// section and gets a new hub section.
    #[arg(long)]
    hub_only: bool,
    /// Skip the hub benchmarks.
    #[arg(long, conflicts_with = "hub_only")]
    no_hub: bool,
    /// Hub P1/P2: timed frames per fan-out run.
    #[arg(long, default_value_t = 4000)]
    frames: u64,
    /// Hub P1/P2: runs per side, alternating hub and baseline (the report gives medians).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Hub P1/P2: browsers attached to the session.
    #[arg(long, default_value_t = 100)]
    browsers: usize,
    /// Hub P7: idle browser sockets (capped by the open-files limit).
    #[arg(long, default_value_t = 2000)]
    sockets: usize,
    /// Hub P3: keystrokes timed per side.
    #[arg(long, default_value_t = 2000)]
    keystrokes: usize,
    /// Hub P4: relay requests per second.
    #[arg(long, default_value_t = 500)]
    relay_rate: u32,
    #[command(subcommand)]
    child: Option<Child>,
}

/// The helper processes of the hub's P7 (started by the benchmark itself).
#[derive(Debug, Subcommand)]
enum Child {
    /// Serves one side of P7 and prints its RSS before and after the idle sockets.
    #[command(hide = true)]
    IdleProbe {
        #[arg(long, value_enum)]
        kind: hub::Kind,
        #[arg(long)]
        sockets: usize,
    },
    /// Holds the idle browser sockets of P7 until stdin closes.
    #[command(hide = true)]
    IdleClients {
        #[arg(long, value_enum)]
        kind: hub::Kind,
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long)]
        sockets: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.child {
        Some(Child::IdleProbe { kind, sockets }) => return hub::idle_probe(kind, sockets).await,
        Some(Child::IdleClients {
            kind,
            addr,
            sockets,
        }) => return hub::idle_clients(kind, addr, sockets).await,
        None => {}
    }
    anyhow::ensure!(args.browsers >= 2, "--browsers must be at least 2");
    anyhow::ensure!(args.frames >= 1, "--frames must be at least 1");
    anyhow::ensure!(args.rounds >= 1, "--rounds must be at least 1");
    let mut report = if args.hub_only {
        previous_runtime_section(&args.report)
    } else {
        runtime_section(&args).await?
    };
    if !args.no_hub {
        let options = hub::Options {
            frames: args.frames,
            rounds: args.rounds,
            browsers: args.browsers,
            sockets: args.sockets,
            keystrokes: args.keystrokes,
            relay_rate: args.relay_rate,
            relay_duration: Duration::from_secs(args.duration),
        };
        let section = hub::run(&options).await?;
        if !report.is_empty() {
            report.push('\n');
        }
        report.push_str(&section);
    }
    print!("{report}");
    if let Some(parent) = args.report.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.report, &report)
        .with_context(|| format!("writing {}", args.report.display()))?;
    eprintln!("report written to {}", args.report.display());
    Ok(())
}

/// The report as it was, without its hub section (kept by `--hub-only`).
fn previous_runtime_section(path: &std::path::Path) -> String {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let kept = old.find(hub::HEADING).map_or(old.as_str(), |at| &old[..at]);
    kept.trim_end().to_owned() + if kept.trim().is_empty() { "" } else { "\n" }
}

/// Measures the embedded runtime against the native baseline; returns the report section.
async fn runtime_section(args: &Args) -> anyhow::Result<String> {
    let duration = Duration::from_secs(args.duration);
    chatcode_testkit::ensure_components_built();
    let dir = tempfile::tempdir()?;
    let root = chatcode_testkit::workspace_root();

    // The app (platform component) and the probe fixture, on the embedded runtime.
    let mut app_options = RuntimeOptions::new(root.join("spin.toml"));
    app_options.data_dir = Some(dir.path().join("app"));
    app_options
        .variables
        .insert("hub_secret".into(), "bench".into());
    app_options
        .variables
        .insert("public_url".into(), "http://127.0.0.1".into());
    app_options.variables.insert(
        "token_encryption_key".into(),
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
    );
    app_options
        .variables
        .insert("hub_public_url".into(), "http://127.0.0.1".into());
    app_options
        .variables
        .insert("gateway_token_salt".into(), "bench".into());
    app_options
        .variables
        .insert("hub_url".into(), "http://127.0.0.1:9".into());
    let app = serve(app_options).await?;
    let migrated = reqwest::Client::new()
        .post(format!("http://{app}/internal/migrate"))
        .bearer_auth("bench")
        .send()
        .await?;
    anyhow::ensure!(
        migrated.status().is_success(),
        "migrate answered {}",
        migrated.status()
    );

    let probe_dir = dir.path().join("probe");
    std::fs::create_dir_all(&probe_dir)?;
    let mut probe_options =
        RuntimeOptions::new(chatcode_testkit::write_probe_manifest(&probe_dir)?);
    probe_options.data_dir = Some(probe_dir.join("data"));
    probe_options
        .variables
        .insert("secret_thing".into(), "bench".into());
    let instantiation = instantiate::measure(&probe_options, 2000).await?;
    let probe = serve(probe_options).await?;
    let create = serde_json::json!({
        "sql": "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, n INTEGER NOT NULL)",
        "params": []
    });
    reqwest::Client::new()
        .post(format!("http://{probe}/probe/sql"))
        .json(&create)
        .send()
        .await?
        .error_for_status()?;

    let native = native::serve(dir.path()).await?;

    let cases = [
        ("empty handler", "GET", "/probe/ok", probe),
        (
            "/healthz (1 SQLite read, 1 key-value read)",
            "GET",
            "/healthz",
            app,
        ),
        ("1 SQLite read + 1 write", "POST", "/probe/bench/{n}", probe),
    ];
    let mut report = String::new();
    writeln!(report, "# chatcode-runtime benchmark\n")?;
    writeln!(
        report,
        "Same process, same run: embedded runtime vs. the same handler logic on axum + rusqlite \
         (both WAL, synchronous=FULL). {}s per measurement, closed loop.\n",
        args.duration
    )?;
    writeln!(
        report,
        "| endpoint | conns | runtime req/s | native req/s | ratio | runtime p50 / p99 | native p50 / p99 | p50 overhead |"
    )?;
    writeln!(report, "| --- | --- | --- | --- | --- | --- | --- | --- |")?;
    for (name, method, path, runtime_addr) in cases {
        for connections in [1, args.connections] {
            let ours = load::run(
                &Target {
                    addr: runtime_addr,
                    method,
                    path: path.into(),
                },
                connections,
                duration,
            )
            .await?;
            let base = load::run(
                &Target {
                    addr: native,
                    method,
                    path: path.into(),
                },
                connections,
                duration,
            )
            .await?;
            writeln!(
                report,
                "| {name} | {connections} | {:.0} | {:.0} | {:.2}× | {} / {} | {} / {} | {} |",
                ours.rps,
                base.rps,
                ours.rps / base.rps,
                us(ours.p50),
                us(ours.p99),
                us(base.p50),
                us(base.p99),
                overhead(&ours, &base),
            )?;
        }
    }
    writeln!(
        report,
        "\nPer-request instantiation of the probe component (fresh `Store` + `instantiate_async`, \
         {} samples): p50 {}, p99 {}.",
        instantiation.count,
        us(instantiation.p50),
        us(instantiation.p99)
    )?;
    Ok(report)
}

async fn serve(options: RuntimeOptions) -> anyhow::Result<std::net::SocketAddr> {
    let runtime = tokio::task::spawn_blocking(move || Runtime::load(&options)).await??;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let serving = runtime.serve(listener)?;
    let addr = serving.local_addr();
    // Served until the process exits.
    std::mem::forget(serving);
    Ok(addr)
}

fn us(d: Duration) -> String {
    format!("{} µs", d.as_micros())
}

fn overhead(ours: &Measured, base: &Measured) -> String {
    let diff = ours.p50.as_micros() as i128 - base.p50.as_micros() as i128;
    format!("{diff:+} µs")
}
