//! `chatcode-bench`: the embedded runtime against a native baseline, the hub against raw
//! WebSocket and axum baselines, and the command relay through the app against the hub alone,
//! each measured in one run on the same machine.
//!
//! ```sh
//! cargo run --release -p chatcode-bench
//! cargo run --release -p chatcode-bench -- --only hub --only relay
//! cargo run --release -p chatcode-bench -- --only hubs   # two hubs over Redis vs one
//! ```

mod app_relay;
mod console;
mod hub;
mod instantiate;
mod load;
mod login;
mod native;
mod open_loop;
mod report_file;
mod targets;

use std::{fmt::Write as _, net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use chatcode_runtime::{Runtime, RuntimeOptions};
use clap::{Parser, Subcommand};
use load::{Measured, Target};

// The shipped binaries use mimalloc; so do the servers measured here, the baselines included.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Benchmark the embedded runtime against axum + rusqlite, the hub against raw servers, and
/// the relay through the app against the hub alone.
#[derive(Debug, Parser)]
struct Args {
    /// Seconds each runtime measurement runs, and each relay measurement (hub P4, relay
    /// through the app) per side and rate.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Concurrent connections for the throughput runs.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Where to write the Markdown report.
    #[arg(long, default_value = "bench/report.md")]
    report: PathBuf,
    /// Run only these suites (repeatable); the report keeps the other sections as they were.
    #[arg(long, value_enum)]
    only: Vec<Suite>,
    /// Request rates of the relay through the app (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [100, 500])]
    relay_rates: Vec<u32>,
    /// Hub P1/P2: timed frames per fan-out run.
    #[arg(long, default_value_t = 4000)]
    frames: u64,
    /// Hub P1/P2 and the console's keystrokes: runs per side, alternating (the report gives
    /// medians).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Hub P1/P2: browsers attached to the session.
    #[arg(long, default_value_t = 100)]
    browsers: usize,
    /// Hub P7: idle browser sockets (capped by the open-files limit, which the benchmark
    /// raises to its hard limit).
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,
    /// Hub P9: idle gateways, each with one idle browser (capped by the open-files limit).
    #[arg(long, default_value_t = 10_000)]
    fleet: usize,
    /// Hub P3 and the console: keystrokes timed per side.
    #[arg(long, default_value_t = 2000)]
    keystrokes: usize,
    /// Hub P4: relay requests per second.
    #[arg(long, default_value_t = 500)]
    relay_rate: u32,
    #[command(subcommand)]
    child: Option<Child>,
}

/// A part of the benchmark with its own report section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Suite {
    /// The embedded runtime against axum + rusqlite.
    Runtime,
    /// The hub against raw WebSocket and axum servers (needs no wasm components).
    Hub,
    /// The command relay through the sessions component against the hub alone.
    Relay,
    /// The web console in Chromium: cold load and keystroke latency.
    Console,
    /// Two hubs over Redis against one hub: fan-out and keystroke round trip (needs
    /// `redis-server`, no wasm components).
    Hubs,
}

/// The report's sections, in order.
const SECTIONS: [&str; 5] = [
    RUNTIME_HEADING,
    hub::HEADING,
    app_relay::HEADING,
    console::HEADING,
    hub::hubs::HEADING,
];
/// The heading of the runtime section.
const RUNTIME_HEADING: &str = "## chatcode-runtime benchmark";

/// The helper processes of the hub suite (started by the benchmark itself).
#[derive(Debug, Subcommand)]
enum Child {
    /// Serves one side of P7 and prints its RSS before and after the idle sockets.
    #[command(hide = true)]
    IdleProbe {
        #[arg(long, value_enum)]
        kind: hub::Kind,
        #[arg(long)]
        sockets: usize,
        #[arg(long)]
        app_url: String,
    },
    /// Serves one server under test of P1–P4 and answers the benchmark's questions on stdin.
    #[command(hide = true)]
    ServeUnderTest {
        #[arg(long, value_enum)]
        kind: hub::Kind,
        #[arg(long)]
        app_url: String,
    },
    /// Serves the hub of P9 and prints its RSS before and after the idle gateways and browsers.
    #[command(hide = true)]
    FleetProbe {
        #[arg(long)]
        gateways: usize,
        #[arg(long)]
        app_url: String,
    },
    /// Holds P9's idle gateways, or their browsers, until stdin closes.
    #[command(hide = true)]
    FleetClients {
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long)]
        gateways: usize,
        #[arg(long, value_enum)]
        role: hub::FleetRole,
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
    // The runtime's logs (its request timings among them) only when asked for.
    if std::env::var_os("RUST_LOG").is_some() {
        chatcode_runtime::cli::init_logging();
    }
    match args.child {
        Some(Child::IdleProbe {
            kind,
            sockets,
            app_url,
        }) => return hub::idle_probe(kind, sockets, &app_url).await,
        Some(Child::ServeUnderTest { kind, app_url }) => {
            return hub::serve_under_test(kind, &app_url).await;
        }
        Some(Child::FleetProbe { gateways, app_url }) => {
            return hub::fleet_probe(gateways, &app_url).await;
        }
        Some(Child::FleetClients {
            addr,
            gateways,
            role,
        }) => return hub::fleet_clients(addr, gateways, role).await,
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
    anyhow::ensure!(
        args.relay_rates.iter().all(|&r| r > 0),
        "--relay-rates must be positive"
    );
    let runs = |suite| args.only.is_empty() || args.only.contains(&suite);
    let mut fresh = Vec::new();
    if runs(Suite::Runtime) {
        fresh.push(runtime_section(&args).await?);
    }
    if runs(Suite::Hub) {
        let options = hub::Options {
            frames: args.frames,
            rounds: args.rounds,
            browsers: args.browsers,
            sockets: args.sockets,
            fleet: args.fleet,
            keystrokes: args.keystrokes,
            relay_rate: args.relay_rate,
            relay_duration: Duration::from_secs(args.duration),
        };
        fresh.push(hub::run(&options).await?);
    }
    if runs(Suite::Relay) {
        let duration = Duration::from_secs(args.duration);
        fresh.push(app_relay::run(&args.relay_rates, duration).await?);
    }
    if runs(Suite::Console) {
        fresh.push(console::run(args.keystrokes, args.rounds).await?);
    }
    if runs(Suite::Hubs) {
        let options = hub::hubs::Options {
            frames: args.frames,
            browsers: args.browsers,
            rounds: args.rounds,
            keystrokes: args.keystrokes,
        };
        fresh.push(hub::hubs::run(options).await?);
    }
    let old = std::fs::read_to_string(&args.report).unwrap_or_default();
    let report = report_file::merge(&old, &fresh, &SECTIONS);
    print!("{report}");
    if let Some(parent) = args.report.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.report, &report)
        .with_context(|| format!("writing {}", args.report.display()))?;
    eprintln!("report written to {}", args.report.display());
    Ok(())
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
    // The development login is one of the measured routes.
    app_options
        .variables
        .insert("environment".into(), "development".into());
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
    let mut empty_handler = Vec::new();
    writeln!(report, "{RUNTIME_HEADING}\n")?;
    writeln!(
        report,
        "Same process, same run: embedded runtime vs. the same handler logic on axum + rusqlite \
         (both WAL, synchronous=FULL). {}s per side and row in 5 alternating slices, \
         closed loop; the load client runs on a thread of its own and the native server on a \
         Tokio runtime of its own, as separate processes would.\n",
        args.duration
    )?;
    writeln!(
        report,
        "| endpoint | conns | runtime req/s | native req/s | ratio | runtime p50 / p99 | native p50 / p99 | p50 overhead |"
    )?;
    writeln!(report, "| --- | --- | --- | --- | --- | --- | --- | --- |")?;
    for (name, method, path, runtime_addr) in cases {
        for connections in [1, args.connections] {
            let ours = Target {
                addr: runtime_addr,
                method,
                path: path.into(),
                body: None,
            };
            let base = Target {
                addr: native,
                method,
                path: path.into(),
                body: None,
            };
            let (ours, base) = load::compare(&ours, &base, connections, duration).await?;
            writeln!(
                report,
                "| {name} | {connections} | {} |",
                row_figures(&ours, &base)
            )?;
            if path == "/probe/ok" {
                empty_handler.push((connections, ours, base));
            }
        }
    }
    let (login_rows, login) = login::rows(app, native, args.connections, duration).await?;
    report.push_str(&login_rows);
    writeln!(
        report,
        "\nPer-request instantiation of the probe component (fresh `Store` + `instantiate_async`, \
         {} samples): p50 {}, p99 {}. The runtime makes a component's next instance once a \
         request is over (one spare per component), so with one connection a request seldom \
         waits for this; with 16, most requests instantiate inline.",
        instantiation.count,
        us(instantiation.p50),
        us(instantiation.p99)
    )?;
    report.push_str(WHERE_THE_TIME_GOES);
    report.push_str(&targets::runtime(&empty_handler, &login));
    Ok(report)
}

/// Where an empty-handler request's work goes at 16 connections: issue 18's profile, taken once
/// (not by this benchmark), with the command that repeats it.
const WHERE_THE_TIME_GOES: &str = "\nWhere the empty handler's time goes at 16 connections \
(issue 18's profile, not measured by this run: `chatcode-runtime` serving the probe under \
`valgrind --tool=callgrind` with a 256 MiB memory reservation so the pool fits valgrind's \
address space, `wrk -t1 -c16`, counters zeroed after a warm-up): about 313,000 instructions per \
request. The guest's `handle` call is 136,000 of them (its own code about 62,000 to 78,000, and \
23 host calls at about 2,500 each, a fifth of that lowering the request's headers into guest \
memory through the guest's `cabi_realloc`); instantiation 95,000 (118 imports resolved, 77 \
lowering trampolines and 53 lazily made funcrefs, each a binary search of the component's \
function table: `CompiledFunctionsTable::func_loc` alone is 32,000); dropping the store 28,000 \
(resetting the instance's memories and table, plus a `PAGEMAP_SCAN` ioctl per memory). hyper \
(9,000), Tokio (5,000) and the runtime's own request code (route, `spin-*` headers, store \
set-up: about 10,000) are under a tenth. Sampled with `perf` (wall clock), a quarter of the \
time is the kernel: the loopback TCP write and its delivery to the client, and about 0.7 \
context switches per request; no request hops threads. A fresh instance per request, as \
`spin up` does for WASI 0.2, is what sets the floor.\n";

async fn serve(options: RuntimeOptions) -> anyhow::Result<std::net::SocketAddr> {
    let runtime = tokio::task::spawn_blocking(move || Runtime::load(&options)).await??;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let serving = runtime.serve(listener)?;
    let addr = serving.local_addr();
    // Served until the process exits.
    std::mem::forget(serving);
    Ok(addr)
}

/// A row's figures after its endpoint and connections: req/s, ratio, p50 / p99, overhead.
fn row_figures(ours: &Measured, base: &Measured) -> String {
    format!(
        "{:.0} | {:.0} | {:.2}× | {} / {} | {} / {} | {}",
        ours.rps,
        base.rps,
        ours.rps / base.rps,
        us(ours.p50),
        us(ours.p99),
        us(base.p50),
        us(base.p99),
        overhead(ours, base),
    )
}

fn us(d: Duration) -> String {
    format!("{} µs", d.as_micros())
}

fn overhead(ours: &Measured, base: &Measured) -> String {
    let diff = ours.p50.as_micros() as i128 - base.p50.as_micros() as i128;
    format!("{diff:+} µs")
}
