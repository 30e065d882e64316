//! The hub section of `bench/report.md`: one table (measurement, ours, baseline, ratio,
//! target, met?) and notes on how each number was taken.

use std::{fmt::Write as _, time::Duration};

use super::{
    FRAME_PAYLOAD, Latencies, Options, fanout::Summary, fleet::Fleet, idle::Idle,
    isolation::SLOW_APP,
};

/// The heading the hub section starts with.
pub const HEADING: &str = "## chatcode-hub benchmark";

/// Everything the suite measured.
pub struct Results {
    pub options: Options,
    pub window: u64,
    pub p1: Summary,
    pub p1_base: Summary,
    pub p2: Summary,
    pub p2_base: Summary,
    pub evicted: u64,
    pub keys: Latencies,
    pub echo: Latencies,
    pub forwarded: Latencies,
    pub relayed: Latencies,
    pub trivially: Latencies,
    pub quiet: Latencies,
    pub flooded: Latencies,
    pub flood_events: u64,
    pub idle_hub: Idle,
    pub idle_base: Idle,
    pub idle_small: Idle,
    pub fleet: Fleet,
    pub requested_sockets: usize,
    pub open_files_limit: u64,
}

struct Row {
    measurement: String,
    ours: String,
    baseline: String,
    ratio: Option<f64>,
    target: &'static str,
    met: Option<bool>,
}

const MIB: f64 = 1024.0 * 1024.0;

fn throughput(o: &Summary) -> String {
    format!(
        "{:.0} frames/s ({:.0} MiB/s)",
        o.frames_per_sec, o.mib_per_sec
    )
}

fn integrity(o: &Summary) -> String {
    format!(
        "{} / {} / {} ({} readers)",
        o.lost, o.reordered, o.hash_mismatches, o.readers
    )
}

fn clean(o: &Summary) -> bool {
    o.lost == 0 && o.reordered == 0 && o.hash_mismatches == 0
}

fn growth(o: &Summary) -> (f64, f64) {
    (
        o.rss_peak_growth as f64 / MIB,
        o.rss_end_growth as f64 / MIB,
    )
}

fn rounds(o: &Summary) -> String {
    let each: Vec<String> = o.rounds.iter().map(|f| format!("{f:.0}")).collect();
    each.join(", ")
}

fn us(d: Duration) -> String {
    format!("{} µs", d.as_micros())
}

fn ratio(ours: Duration, base: Duration) -> f64 {
    ours.as_secs_f64() / base.as_secs_f64().max(1e-9)
}

fn rows(r: &Results) -> Vec<Row> {
    let b = r.options.browsers;
    let (p2_peak, p2_end) = growth(&r.p2);
    let (base_peak, base_end) = growth(&r.p2_base);
    let p3 = ratio(r.keys.p50, r.forwarded.p50);
    let p3_echo = ratio(r.keys.p50, r.echo.p50);
    let p8 = ratio(r.flooded.p50, r.quiet.p50);
    let fleet_mib = r.fleet.rss_after as f64 / MIB;
    let fleet_growth = r.fleet.rss_after.saturating_sub(r.fleet.rss_before) as f64;
    let per_pair = fleet_growth / r.fleet.gateways.max(1) as f64 / 1024.0;
    let p7 = r.idle_hub.per_socket / r.idle_base.per_socket.max(1.0);
    vec![
        Row {
            measurement: format!("P1 fan-out 1 → {b} browsers, 4 KiB frames"),
            ours: throughput(&r.p1),
            baseline: throughput(&r.p1_base),
            ratio: Some(r.p1.frames_per_sec / r.p1_base.frames_per_sec),
            target: "≥ 0.8×",
            met: Some(r.p1.frames_per_sec >= 0.8 * r.p1_base.frames_per_sec),
        },
        Row {
            measurement: "P1 lost / reordered / hash mismatches".into(),
            ours: integrity(&r.p1),
            baseline: integrity(&r.p1_base),
            ratio: None,
            target: "0 / 0 / 0",
            met: Some(clean(&r.p1)),
        },
        Row {
            measurement: format!(
                "P2 the other {} browsers, one stuck (baseline: hub P1)",
                b - 1
            ),
            ours: throughput(&r.p2),
            baseline: throughput(&r.p1),
            ratio: Some(r.p2.frames_per_sec / r.p1.frames_per_sec),
            target: "≥ 0.9× of P1",
            met: Some(r.p2.frames_per_sec >= 0.9 * r.p1.frames_per_sec),
        },
        Row {
            measurement: "P2 lost / reordered / hash mismatches".into(),
            ours: integrity(&r.p2),
            baseline: integrity(&r.p2_base),
            ratio: None,
            target: "0 / 0 / 0",
            met: Some(clean(&r.p2)),
        },
        Row {
            measurement: "P2 process RSS growth, start → end of run (peak)".into(),
            ours: format!("{p2_end:.1} MiB (peak +{p2_peak:.1})"),
            baseline: format!("{base_end:.1} MiB (peak +{base_peak:.1}), raw server P2"),
            ratio: None,
            target: "< 8 MiB",
            met: Some(p2_end < 8.0),
        },
        Row {
            measurement: "P3 keystroke round trip p50: hub ÷ raw forwarder over the same hops"
                .into(),
            ours: us(r.keys.p50),
            baseline: format!(
                "{} (raw forwarder; the hub is {:.2}× the WS echo's {})",
                us(r.forwarded.p50),
                p3_echo,
                us(r.echo.p50)
            ),
            ratio: Some(p3),
            target: "≤ 1.15×",
            met: Some(p3 <= 1.15),
        },
        Row {
            measurement: "P3 keystroke round trip p99".into(),
            ours: us(r.keys.p99),
            baseline: format!(
                "{} (raw forwarder); {} (WS echo)",
                us(r.forwarded.p99),
                us(r.echo.p99)
            ),
            ratio: Some(ratio(r.keys.p99, r.forwarded.p99)),
            target: "—",
            met: None,
        },
        Row {
            measurement: format!("P4 relay p50 at {} req/s", r.options.relay_rate),
            ours: us(r.relayed.p50),
            baseline: format!("{} (trivial axum)", us(r.trivially.p50)),
            ratio: Some(ratio(r.relayed.p50, r.trivially.p50)),
            target: "—",
            met: None,
        },
        Row {
            measurement: format!("P4 relay p99 at {} req/s", r.options.relay_rate),
            ours: us(r.relayed.p99),
            baseline: format!("{} (trivial axum)", us(r.trivially.p99)),
            ratio: Some(ratio(r.relayed.p99, r.trivially.p99)),
            target: "—",
            met: None,
        },
        Row {
            measurement: format!(
                "P8 isolation: keystroke p50 while another gateway floods events and the app \
                 takes {} ms per events post",
                SLOW_APP.as_millis()
            ),
            ours: format!("{} (p99 {})", us(r.flooded.p50), us(r.flooded.p99)),
            baseline: format!("{} (p99 {}), no flood", us(r.quiet.p50), us(r.quiet.p99)),
            ratio: Some(p8),
            target: "≤ 1.5×",
            met: Some(p8 <= 1.5),
        },
        Row {
            measurement: format!(
                "P7 RSS per idle browser socket ({} sockets)",
                r.idle_hub.sockets
            ),
            ours: format!("{:.1} KiB", r.idle_hub.per_socket / 1024.0),
            baseline: format!("{:.1} KiB", r.idle_base.per_socket / 1024.0),
            ratio: Some(p7),
            target: "≤ 16 KiB",
            met: Some(r.idle_hub.per_socket <= 16.0 * 1024.0),
        },
        Row {
            measurement: format!(
                "P9 hub RSS with {} idle gateways + {} idle browsers",
                r.fleet.gateways, r.fleet.gateways
            ),
            ours: format!("{fleet_mib:.1} MiB ({per_pair:.1} KiB per gateway and browser)"),
            baseline: "—".into(),
            ratio: None,
            target: "—",
            met: None,
        },
        Row {
            measurement: format!(
                "P7 diagnostic: raw server with {} KiB read buffers",
                super::idle::SMALL_READ_BUFFER / 1024
            ),
            ours: "—".into(),
            baseline: format!("{:.1} KiB", r.idle_small.per_socket / 1024.0),
            ratio: None,
            target: "(≤ 16 KiB)",
            met: None,
        },
    ]
}

/// The section, heading included.
pub fn render(r: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{HEADING}\n");
    let _ = writeln!(
        out,
        "Same run, {} on {} cores: the hub (default limits, but no cap on browsers per \
         session) with a stand-in app for its three internal routes, against raw baselines; \
         each server runs in a process of its own (the benchmark binary started as a child), \
         the clients and the stand-in app in the benchmark's process. Run with \
         `cargo run --release -p chatcode-bench -- --only hub`. Load average \
         (1/5/15 min) when the section was written: {}; other work on the machine shows up as \
         noise, which the alternating rounds spread over both sides.\n",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average(),
    );
    let _ = writeln!(
        out,
        "| measurement | ours | baseline | ratio | target | met? |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
    for row in rows(r) {
        let ratio = row.ratio.map_or("—".to_owned(), |x| format!("{x:.2}×"));
        let met = match row.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {ratio} | {} | {met} |",
            row.measurement, row.ours, row.baseline, row.target
        );
    }
    let _ = writeln!(out);
    for note in notes(r) {
        let _ = writeln!(out, "- {note}");
    }
    out
}

fn notes(r: &Results) -> Vec<String> {
    let o = &r.options;
    let (p1_peak, p1_end) = growth(&r.p1);
    let mut notes = vec![
        format!(
            "P1/P2: {} rounds per side, alternating hub and baseline; each round sends {} timed \
             frames of {FRAME_PAYLOAD} B payload to one session after {} warm-up frames, and the \
             raw gateway never runs more than {} frames (1 MiB) ahead of the slowest reading \
             browser. The table gives medians; frames/s per round: hub P1 {}; baseline P1 {}; \
             hub P2 {}; baseline P2 {}. MiB/s is payload delivered over all reading browsers. \
             Every browser checks seq order (lost = gaps, reordered = repeats or going back) and \
             an order-sensitive hash of the payloads against the sender's. Baseline: a raw \
             tokio-tungstenite server that forwards each binary message from the gateway to \
             every client through a bounded `mpsc(1024)` per client, evicting a client whose \
             channel is full; its sockets use tokio's defaults (no TCP_NODELAY), while the \
             hub sets TCP_NODELAY and writes each socket's queued messages with one flush.",
            o.rounds,
            o.frames,
            2 * r.window,
            r.window,
            rounds(&r.p1),
            rounds(&r.p1_base),
            rounds(&r.p2),
            rounds(&r.p2_base),
        ),
        format!(
            "P2: browser 0 stops reading after the warm-up; the hub stops feeding it live at half \
             its queue (it would catch up from the replay window) and drops it once a write \
             stalls 10 s: {} browser(s) dropped over the {} rounds. The server process holds \
             the hub alone (the stand-in app runs in the benchmark's process). RSS is the server \
             process's `VmRSS` (peak: `VmHWM`, reset through `/proc/self/clear_refs` when the \
             timed phase starts), the table giving the median round; each server process serves \
             every round of its side, so heap freed by an earlier round may be reused. For scale, hub P1 (nobody stuck) grew {p1_end:.1} MiB (peak \
             +{p1_peak:.1}); much of any peak is tungstenite write buffers (up to 128 KiB per \
             socket) filling while browsers lag.",
            r.evicted, o.rounds
        ),
        format!(
            "P3: {} keystrokes per side in {} rounds, alternating hub, echo and raw forwarder, one at a time \
             (after {} warm-up per round): browser `session.input` → hub → raw gateway, which \
             answers with the echo as an output frame and an `ack` → hub → browser, timed until \
             the frame arrives. Baseline: the same text message to a tokio-tungstenite echo \
             server (one hop instead of the hub's two). Diagnostic: the raw server forwarding \
             the browser's text to the same raw gateway through the gateway socket's channel, \
             and the frame back through the browser's: the two hops with nothing else, the floor \
             for any server that keeps a writer task per socket. Client sockets \
             and `chatcode_hub::serve` set TCP_NODELAY (without it, Nagle's algorithm holds the \
             echo frame behind the previous keystroke's `ack` until the browser's delayed ACK: \
             milliseconds).",
            r.keys.count,
            super::KEYSTROKE_ROUNDS,
            super::KEYSTROKE_WARMUP
        ),
        format!(
            "P8: {} keystrokes per side in {} rounds, each a quiet slice then a flooded one, \
             on the P3 path. During a flooded slice a second gateway sends `gateway.health` \
             as fast as its socket takes it (a `session.error` in every thousand) and the \
             stand-in app answers each events post after {} ms; {} events were sent in all. The \
             hub records through one queue per gateway and never awaits the app on a socket's \
             read loop. Both gateways, the browser and the stand-in app share the machine with \
             the hub, so what the flood costs in CPU shows up here too.",
            r.quiet.count,
            super::KEYSTROKE_ROUNDS / 2,
            SLOW_APP.as_millis(),
            r.flood_events
        ),
        format!(
            "P4: open loop, {} `POST /internal/gateways/:id/commands` (`session.resize`, acked \
             at once by the raw gateway) per second, {:.1} s per side in {} alternating slices \
             after a warm-up; each answer is \
             checked (200, `ack.ok`). Baseline: the same reqwest client against a trivial axum \
             handler that parses the command and answers an ack. The benchmark's hub forgets \
             relay answers after 10 s instead of 10 min (its 10,000-answer cap would otherwise \
             refuse runs longer than 20 s).",
            o.relay_rate,
            o.relay_duration.as_secs_f64(),
            o.rounds
        ),
        format!(
            "P7: each side in a fresh process that serves only the server under test (the hub \
             with a connected raw gateway, or the raw server) while a \
             second process holds the {} browsers, all attached to one session (each got its \
             snapshot; the benchmark's hub lifts the cap of 256 browsers per session); RSS \
             growth of the server process / sockets, read 1 s after all are registered. Open-files soft limit {}. The hub gives browser sockets a 4 KiB read \
             buffer; the raw server keeps tungstenite's default 128 KiB, which tungstenite \
             zero-fills on the first read, hence about 130 KiB per socket; the diagnostic row \
             shows the raw server with a {} KiB read buffer.",
            r.idle_hub.sockets,
            r.open_files_limit,
            super::idle::SMALL_READ_BUFFER / 1024
        ),
    ];
    notes.push(format!(
        "P9: the hub in a fresh process with nothing else in it; one client process holds \
         {} raw gateways (each authenticated by the stand-in app, outside the hub's process), \
         then another holds one browser per gateway, each on a session of its own (each got its \
         snapshot). RSS {:.1} MiB before the first gateway, {:.1} MiB with all of them, read 1 s \
         after the last browser registered; per gateway and browser: the growth divided by \
         {}.",
        r.fleet.gateways,
        r.fleet.rss_before as f64 / MIB,
        r.fleet.rss_after as f64 / MIB,
        r.fleet.gateways
    ));
    if r.fleet.gateways < r.options.fleet {
        notes.push(format!(
            "P9 asked for {} gateways and {} browsers, capped at {} each: the hub holds two \
             sockets per pair and the open-files limit is {} per process (the hard limit \
             cannot be raised here).",
            r.options.fleet, r.options.fleet, r.fleet.gateways, r.open_files_limit
        ));
    }
    if r.idle_hub.sockets < r.requested_sockets {
        notes.push(format!(
            "P7 asked for {} sockets, capped at {} by the open-files limit ({}; the hard limit \
             could not be raised further).",
            r.requested_sockets, r.idle_hub.sockets, r.open_files_limit
        ));
    }
    notes
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "an unknown CPU".into())
}
