//! The hub under injected faults, with real processes (the app, `chatcode hub`) and real
//! sockets: the gateway simulator and browsers reach the hub through the fault proxy, whose
//! links are cut, reset, stopped and slowed while output flows; the hub is killed and started
//! again; the app is frozen for a minute; a browser sends garbage. The checks are about
//! content, never about time.

mod hub_support;

use std::{
    hash::{DefaultHasher, Hasher},
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};

use chatcode_core::ticket::Mode;
use chatcode_gateway_sim::{Backoff, GatewaySim, SimConfig, SimHandle};
use chatcode_testkit::{Direction, FaultProxy};
use hub_support::{Client, Received, Tickets, Vps, World};
use serde_json::{Value, json};
use tokio::sync::watch;

const SESSION: &str = "ses-faults00000000000001";
/// Bytes of one block of the flood: one output frame each.
const BLOCK: usize = 16 * 1024;
/// Longest any one step waits (generous: the machine may be loaded).
const DEADLINE: Duration = Duration::from_secs(120);

/// What follows each block's number: the same for every block.
static FILLER: LazyLock<Vec<u8>> =
    LazyLock::new(|| (0..BLOCK - 16).map(|i| b'a' + (i % 26) as u8).collect());

/// Block `k` of the flood: its number in 16 hex digits, then the filler.
fn block(k: u64) -> Vec<u8> {
    let mut bytes = format!("{k:016x}").into_bytes();
    bytes.extend_from_slice(&FILLER);
    bytes
}

/// A simulated gateway dialling `url` that reconnects quickly.
fn sim(url: String, vps: &Vps) -> SimHandle {
    let mut config = SimConfig::new(url, &vps.gateway_id, &vps.token);
    config.backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(500),
    };
    config.health_interval = Duration::from_millis(500);
    GatewaySim::start(config)
}

/// Starts `SESSION` on the gateway through the hub's relay.
async fn start_session(world: &World, session_id: &str) {
    let create = json!({"type": "session.create", "schema_version": "1",
                        "request_id": format!("create-{session_id}"), "session_id": session_id,
                        "name": "flood", "workdir": "/root"});
    let (status, answer) = world.relay(&create).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["event"]["type"], "session.started", "{answer}");
}

/// What one browser made of the stream: frames in `seq` order, each block whole, and blocks
/// consecutive from the last snapshot on (where the screen starts over).
#[derive(Default)]
struct Stream {
    last_seq: Option<u64>,
    last_block: Option<u64>,
    /// The first block since the last snapshot.
    segment_start: Option<u64>,
    /// Over the blocks since the last snapshot.
    hash: DefaultHasher,
    /// After a `gap`, until its snapshot: frames already in the snapshot.
    awaiting_snapshot: bool,
    connected: bool,
    attaches: u32,
    gaps: u32,
    snapshots: u32,
}

impl Stream {
    fn frame(&mut self, seq: u64, payload: &[u8]) {
        if let Some(last) = self.last_seq {
            assert!(
                seq > last,
                "frame {seq} after {last}: out of order or twice"
            );
        }
        self.last_seq = Some(seq);
        if self.awaiting_snapshot || payload.len() != BLOCK {
            // The session's first prompt, or frames the coming snapshot covers.
            return;
        }
        let k = std::str::from_utf8(&payload[..16])
            .ok()
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .expect("a block starts with its number");
        assert!(payload[16..] == FILLER[..], "block {k} is corrupt");
        match (self.segment_start, self.last_block) {
            (Some(_), Some(prev)) => assert_eq!(k, prev + 1, "output lost without a snapshot"),
            _ => self.segment_start = Some(k),
        }
        self.hash.write(payload);
        self.last_block = Some(k);
    }

    fn snapshot(&mut self) {
        self.snapshots += 1;
        self.awaiting_snapshot = false;
        self.segment_start = None;
        self.hash = DefaultHasher::new();
    }

    /// Whether it follows the output live: attached, in a segment.
    fn live(&self) -> bool {
        self.connected && !self.awaiting_snapshot && self.segment_start.is_some()
    }
}

/// A browser on `SESSION` at `addr` that reconnects (resuming from its last frame) whenever
/// its socket goes, until it has block `last` in its current segment.
async fn browse(
    addr: std::net::SocketAddr,
    tickets: Tickets,
    vps_id: String,
    stream: Arc<Mutex<Stream>>,
    last: watch::Receiver<Option<u64>>,
) {
    loop {
        let last_seq = stream.lock().unwrap().last_seq;
        let ticket = tickets.sign(SESSION, Mode::ReadOnly);
        let Ok(mut client) = Client::try_attach(addr, &vps_id, SESSION, &ticket, last_seq).await
        else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        {
            let mut stream = stream.lock().unwrap();
            stream.connected = true;
            stream.attaches += 1;
        }
        loop {
            let received = client.next().await;
            let mut stream = stream.lock().unwrap();
            match received {
                Received::Frame { seq, payload } => {
                    stream.frame(seq, &payload);
                    let done = last.borrow().is_some_and(|last| {
                        stream.last_block == Some(last) && stream.segment_start.is_some()
                    });
                    if done {
                        return;
                    }
                }
                Received::Json(value) if value["type"] == "gap" => {
                    stream.gaps += 1;
                    stream.awaiting_snapshot = true;
                }
                Received::Json(value) if value["type"] == "session.snapshot" => {
                    stream.snapshot();
                }
                Received::Json(_) => {}
                Received::Closed(_) => {
                    stream.connected = false;
                    break;
                }
            }
        }
    }
}

/// Waits for `done`, failing after [`DEADLINE`].
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn output_at_10_mb_s_through_five_cuts_each_way_ends_byte_exact_in_every_browser() {
    // A replay window that outlasts a browser's reconnect at 10 MB/s.
    let world = World::with(|config| config.limits.replay_bytes = 16 << 20).await;
    let gateway_link = FaultProxy::start(world.hub_addr).await.unwrap();
    let browser_link = FaultProxy::start(world.hub_addr).await.unwrap();
    let sim = sim(
        format!("ws://{}/gw/connect", gateway_link.addr()),
        &world.vps,
    );
    sim.wait_connected(DEADLINE).await.unwrap();
    world
        .wait_for_vps("connected", |d| d["gateway"]["connected"] == true)
        .await;
    start_session(&world, SESSION).await;

    // One browser straight to the hub, three through the faulty link.
    let (last_tx, last_rx) = watch::channel(None);
    let streams: Vec<Arc<Mutex<Stream>>> = (0..4).map(|_| Arc::default()).collect();
    let browsers: Vec<_> = streams
        .iter()
        .enumerate()
        .map(|(n, stream)| {
            let addr = if n == 0 {
                world.hub_addr
            } else {
                browser_link.addr()
            };
            tokio::spawn(browse(
                addr,
                world.tickets(),
                world.vps.id.clone(),
                stream.clone(),
                last_rx.clone(),
            ))
        })
        .collect();
    // A browser that attached after the session's prompt has it in its snapshot, not as a
    // frame: its first frame is the flood's.
    until("every browser on the prompt", || {
        streams.iter().all(|s| {
            let s = s.lock().unwrap();
            s.connected && s.snapshots > 0
        })
    })
    .await;

    // 10 MB/s: six blocks every 10 ms, never more than 512 KiB ahead of what the gateway
    // sends (its own buffer drops output beyond 1 MiB).
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let flood = {
        let sim = Arc::new(sim);
        let emitter = sim.clone();
        let task = tokio::spawn(async move {
            let mut next = 0u64;
            let mut ticker = tokio::time::interval(Duration::from_millis(10));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let started = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = stop_rx.changed() => break,
                }
                let pending = emitter.session(SESSION).map_or(0, |s| s.pending_bytes);
                if pending > 512 * 1024 {
                    continue;
                }
                for _ in 0..6 {
                    emitter.emit_output(SESSION, &block(next)).unwrap();
                    next += 1;
                }
            }
            let rate = next as f64 * BLOCK as f64 / started.elapsed().as_secs_f64() / 1e6;
            eprintln!("flood: {next} blocks, {rate:.1} MB/s");
            next
        });
        (sim, task)
    };

    // Five faults on each link, one after another while the output flows; a browser is cut
    // once it has had output since the gateway's last reconnect, so it can resume exactly.
    let pause = || tokio::time::sleep(Duration::from_millis(600));
    let reconnects = |n| flood.0.wait_connections(n, DEADLINE);
    let browsers_back = || {
        until("the browsers back", || {
            streams.iter().all(|s| s.lock().unwrap().connected)
        })
    };
    pause().await;
    gateway_link.cut();
    reconnects(2).await.unwrap();
    pause().await;
    browser_link.reset();
    pause().await;
    browsers_back().await;
    gateway_link.reset();
    reconnects(3).await.unwrap();
    pause().await;
    browser_link.cut();
    pause().await;
    browsers_back().await;
    gateway_link.half_open();
    pause().await;
    gateway_link.reset();
    gateway_link.heal();
    reconnects(4).await.unwrap();
    pause().await;
    browser_link.stop(Direction::ToClient);
    pause().await;
    browser_link.reset();
    browser_link.heal();
    browsers_back().await;
    gateway_link.stop(Direction::ToServer);
    pause().await;
    gateway_link.reset();
    gateway_link.heal();
    reconnects(5).await.unwrap();
    pause().await;
    browser_link.delay(Direction::ToClient, Duration::from_millis(20));
    browser_link.throttle(Direction::ToClient, Some(4 << 20));
    pause().await;
    browser_link.reset();
    browser_link.heal();
    browsers_back().await;
    gateway_link.reset();
    reconnects(6).await.unwrap();
    pause().await;
    browser_link.cut();
    pause().await;

    // Once every browser follows live again, the flood ends at a block they must all reach.
    until("every browser live", || {
        streams.iter().all(|s| s.lock().unwrap().live())
    })
    .await;
    stop_tx.send_replace(true);
    let (sim, task) = flood;
    let emitted = task.await.unwrap();
    let last = emitted;
    last_tx.send_replace(Some(last));
    sim.emit_output(SESSION, &block(last)).unwrap();
    for browser in browsers {
        tokio::time::timeout(DEADLINE, browser)
            .await
            .expect("every browser reaches the last block")
            .unwrap();
    }

    // Each ends with the same bytes as the gateway sent since its last snapshot.
    let mut exact_resumes = 0;
    for (n, stream) in streams.iter().enumerate() {
        let stream = stream.lock().unwrap();
        let start = stream.segment_start.unwrap();
        let mut expected = DefaultHasher::new();
        for k in start..=last {
            expected.write(&block(k));
        }
        assert_eq!(
            stream.hash.finish(),
            expected.finish(),
            "browser {n}: blocks {start}..={last}"
        );
        eprintln!(
            "browser {n}: {} attaches, {} gaps, {} snapshots, last segment {start}..={last}",
            stream.attaches, stream.gaps, stream.snapshots
        );
        if n > 0 {
            assert!(stream.attaches >= 6, "browser {n} was cut five times");
            exact_resumes += stream.attaches - 1 - stream.gaps;
        }
    }
    assert!(
        exact_resumes > 0,
        "some resume got exactly the frames it missed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_hub_gets_its_gateways_back_and_its_browsers_resume_with_a_snapshot() {
    let mut world = World::with_hub_process().await;
    let hub_url = format!("ws://{}/gw/connect", world.hub_addr);
    let other = world.add_vps().await;
    let staying = sim(hub_url.clone(), &world.vps);
    let leaving = sim(hub_url, &other);
    staying.wait_connected(DEADLINE).await.unwrap();
    leaving.wait_connected(DEADLINE).await.unwrap();
    world
        .wait_for_vps("connected", |d| d["gateway"]["connected"] == true)
        .await;
    start_session(&world, SESSION).await;
    let mut browser = world.browser(SESSION, Mode::ReadOnly, None).await;
    browser.json_of("session.snapshot").await;
    staying.emit_output(SESSION, b"before the crash").unwrap();
    let mut last_seq = None;
    while last_seq.is_none() {
        if let Received::Frame { seq, payload } = browser.next().await
            && payload == b"before the crash"
        {
            last_seq = Some(seq);
        }
    }

    // The hub dies; one gateway goes for good while it is down; the hub comes back.
    world.crash_hub();
    assert_eq!(browser.closed().await, None);
    leaving.stop().await;
    world.start_hub();

    // The other gateway is back within its back-off, and the browser resumes: the new hub
    // holds no output, so it gets a gap and a fresh snapshot, then live frames.
    staying.wait_connections(2, DEADLINE).await.unwrap();
    let mut resumed = world.browser(SESSION, Mode::ReadOnly, last_seq).await;
    let gap = resumed.json_of("gap").await;
    assert_eq!(gap["from_seq"].as_u64(), last_seq);
    resumed.json_of("session.snapshot").await;
    staying.emit_output(SESSION, b"after the restart").unwrap();
    loop {
        if let Received::Frame { payload, .. } = resumed.next().await
            && payload == b"after the restart"
        {
            break;
        }
    }

    // The app has the gateway that came back connected, and the one that is gone not.
    let connected = |body: &Value, vps_id: &str| {
        body["vps"]
            .as_array()
            .and_then(|all| all.iter().find(|v| v["id"] == vps_id))
            .map(|v| v["gateway"]["connected"].clone())
    };
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut body = world.call(Some(&world.cookie), "GET", "/vps", None).await.1;
    while connected(&body, &other.id) != Some(json!(false))
        || connected(&body, &world.vps.id) != Some(json!(true))
    {
        assert!(tokio::time::Instant::now() < deadline, "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        body = world.call(Some(&world.cookie), "GET", "/vps", None).await.1;
    }
    staying.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_app_frozen_for_a_minute_terminals_stream_and_no_event_is_lost() {
    let world = World::new().await;
    let sim = sim(format!("ws://{}/gw/connect", world.hub_addr), &world.vps);
    sim.wait_connected(DEADLINE).await.unwrap();
    world
        .wait_for_vps("connected", |d| d["gateway"]["connected"] == true)
        .await;
    // Sessions the app knows, created through it.
    let mut ids = Vec::new();
    for _ in 0..3 {
        let path = format!("/vps/{}/sessions", world.vps.id);
        let (status, session) = world
            .call(
                Some(&world.cookie),
                "POST",
                &path,
                Some(json!({"title": "t"})),
            )
            .await;
        assert_eq!(status, 201, "{session}");
        ids.push(session["id"].as_str().unwrap().to_owned());
    }
    let (watched, ending, failing) = (&ids[0], &ids[1], &ids[2]);
    let mut browser = world.browser(watched, Mode::ReadOnly, None).await;
    browser.json_of("session.snapshot").await;
    let before = world
        .wait_for_vps("a health report", |d| !d["gateway"]["health"].is_null())
        .await["gateway"]["health"]["received_at"]
        .clone();

    // The app stops answering for 60 s. Output keeps flowing to the browser every second,
    // and the gateway's events pile up: a session ends, one fails, health keeps coming.
    world.app.pause();
    sim.exit_session(ending, 3).unwrap();
    let error = json!({"type": "session.error", "schema_version": "1", "session_id": failing,
                       "error": "tmux: no server"});
    sim.send_raw_text(error.to_string()).await.unwrap();
    for n in 0..60 {
        let line = format!("line {n}\r\n");
        sim.emit_output(watched, line.as_bytes()).unwrap();
        let mut seen = Vec::new();
        while !String::from_utf8_lossy(&seen).contains(&line) {
            seen.extend(browser.frame().await.1);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    world.app.resume();

    // Every event reaches the app once it is back.
    let detail = world
        .wait_for_vps("the health after the freeze", |d| {
            d["gateway"]["health"]["received_at"] != before
        })
        .await;
    assert_eq!(detail["gateway"]["connected"], true, "{detail}");
    let status = |id: &str| {
        let db = rusqlite::Connection::open(world.data_dir().join("sqlite_db.db")).unwrap();
        db.query_row(
            "SELECT status, exit_code, error FROM sessions WHERE id = ?",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .unwrap()
    };
    until("the freeze's session events", || {
        status(ending).0 == "ended" && status(failing).0 == "error"
    })
    .await;
    assert_eq!(status(ending).1, Some(3));
    assert_eq!(status(failing).2.as_deref(), Some("tmux: no server"));
    assert_eq!(status(watched).0, "running");
    let metrics = world.metrics().await;
    for lost in [
        "chatcode_hub_events_dropped_total 0\n",
        "chatcode_hub_events_refused_total 0\n",
    ] {
        assert!(metrics.contains(lost), "{metrics}");
    }
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_sending_garbage_is_closed_and_nobody_else_notices() {
    let world = World::new().await;
    let sim = sim(format!("ws://{}/gw/connect", world.hub_addr), &world.vps);
    sim.wait_connected(DEADLINE).await.unwrap();
    // The socket is open before the hub has linked the gateway; the app records the link.
    world
        .wait_for_vps("connected", |d| d["gateway"]["connected"] == true)
        .await;
    start_session(&world, SESSION).await;
    let mut good = world.browser(SESSION, Mode::ReadWrite, None).await;
    good.json_of("session.snapshot").await;

    // Output flows all along.
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let sim = Arc::new(sim);
    let emitter = sim.clone();
    let flow = tokio::spawn(async move {
        let mut n = 0u64;
        while !*stop_rx.borrow_and_update() {
            emitter
                .emit_output(SESSION, format!("tick {n}\r\n").as_bytes())
                .unwrap();
            n += 1;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = stop_rx.changed() => {}
            }
        }
        emitter.emit_output(SESSION, b"the end\r\n").unwrap();
    });

    // Garbage, each from a browser of its own.
    let mut rude = world.browser(SESSION, Mode::ReadWrite, None).await;
    rude.send_binary(vec![0xff; 100]).await;
    assert_eq!(rude.closed().await, Some(1008));
    let mut rude = world.browser(SESSION, Mode::ReadWrite, None).await;
    rude.send_text(format!("{{\"pad\":\"{}\"}}", "x".repeat(1 << 21)))
        .await;
    assert_eq!(rude.closed().await, Some(1009));
    let mut rude = world.browser(SESSION, Mode::ReadWrite, None).await;
    rude.send(json!({"type": "session.input", "schema_version": "1",
                     "session_id": "ses-someoneelse0000000001", "data": "eA=="}))
        .await;
    assert_eq!(rude.closed().await, Some(1008));
    let mut rude = world.browser(SESSION, Mode::ReadWrite, None).await;
    rude.send_text("\u{0}\u{1}not json at all".into()).await;
    assert_eq!(rude.json_of("error").await["code"], "invalid_message");

    // The good browser saw an unbroken stream and no error; the gateway never dropped.
    stop_tx.send_replace(true);
    flow.await.unwrap();
    let mut last = None;
    let mut text = String::new();
    while !text.contains("the end") {
        match good.next().await {
            Received::Frame { seq, payload } => {
                assert!(last.is_none_or(|l| seq == l + 1), "{seq} after {last:?}");
                last = Some(seq);
                text.push_str(&String::from_utf8_lossy(&payload));
            }
            Received::Json(value) => {
                let kind = value["type"].as_str().unwrap_or_default();
                assert!(
                    !matches!(kind, "error" | "gap" | "gateway.status"),
                    "the good browser heard {value}"
                );
            }
            Received::Closed(code) => panic!("the good browser was closed: {code:?}"),
        }
    }
    assert_eq!(sim.connections(), 1);
}
