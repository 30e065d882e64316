//! The hub against the real app: a VPS created through the app (DigitalOcean fake) whose
//! cloud-init credentials a gateway uses to connect; browsers attached with signed tickets;
//! commands relayed; output fanned out and resumed without loss; every refusal.

mod hub_support;

use std::time::Duration;

use chatcode_core::{
    ticket::{self, AttachTicket, Holder, Mode},
    time::now_ms,
};
use hub_support::{Client, HUB_SECRET, Received, TEST_LOGIN, World, answer, snapshot_for};
use serde_json::{Value, json};

const SESSION: &str = "ses-hubtest00000000000001";

fn create(request_id: &str) -> Value {
    json!({"type": "session.create", "schema_version": "1", "request_id": request_id,
           "session_id": SESSION, "name": "work", "workdir": "/root"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_with_cloud_init_credentials_connects_and_its_vps_turns_active() {
    let world = World::new().await;
    let vps = &world.vps;

    // Refused before the upgrade: no token, a wrong token, an unknown gateway.
    assert_eq!(
        Client::dial(world.hub_addr, &vps.gateway_id, "")
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        Client::dial(world.hub_addr, &vps.gateway_id, &"0".repeat(64))
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        Client::dial(world.hub_addr, "gw-unknown0000000000000", &vps.token)
            .await
            .err(),
        Some(401)
    );

    let mut gateway = world.gateway().await;
    let detail = world
        .wait_for_vps("active and connected", |d| {
            d["status"] == "active" && d["gateway"]["connected"] == true
        })
        .await;
    assert_eq!(detail["gateway"]["version"], "v0.1.0");

    // Health reports reach the app.
    gateway
        .send(json!({"type": "gateway.health", "schema_version": "1",
                     "gateway_id": vps.gateway_id, "timestamp": "2026-11-22T03:00:00Z",
                     "cpu_percent": 7.5, "active_sessions": []}))
        .await;
    world
        .wait_for_vps("health", |d| d["gateway"]["health"]["cpu_percent"] == 7.5)
        .await;

    // A hello naming another gateway closes the socket with 1008.
    gateway.hello("gw-someoneelse000000000").await;
    assert_eq!(gateway.closed().await, Some(1008));
    // Inside the grace the app still has it connected; after it, offline.
    world
        .wait_for_vps("offline after the grace", |d| {
            d["gateway"]["connected"] == false
        })
        .await;

    // The hub answers health and metrics.
    let health: Value = reqwest::get(format!("http://{}/healthz", world.hub_addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let metrics = world.metrics().await;
    assert!(
        metrics.contains("chatcode_hub_gateways_connected 0"),
        "{metrics}"
    );
    assert!(metrics.contains("# TYPE chatcode_hub_relay_seconds histogram"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_relayed_once_and_answered_with_their_ack_and_event() {
    let world = World::new().await;

    // Offline gateway: 503.
    let (status, body) = world.relay(&create("req-offline")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("gateway_offline"))
    );

    let mut gateway = world.gateway().await;
    world
        .wait_for_vps("connected", |d| d["gateway"]["connected"] == true)
        .await;

    // A create is answered with its ack and session.started.
    let relayed = tokio::spawn({
        let command = create("req-1");
        let hub = world.hub_addr;
        let gateway_id = world.vps.gateway_id.clone();
        async move { relay_to(hub, &gateway_id, &command).await }
    });
    let sent = answer(&mut gateway, |c| {
        Some(json!({"type": "session.started", "schema_version": "1",
                    "request_id": c["request_id"], "session_id": SESSION, "pid": 7}))
    })
    .await;
    assert_eq!(sent["type"], "session.create");
    assert_eq!(sent["request_id"], "req-1");
    let (status, body) = relayed.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["request_id"], "req-1");
    assert_eq!(body["ack"]["ok"], true);
    assert_eq!(body["event"]["type"], "session.started");
    assert_eq!(body["event"]["pid"], 7);

    // The same request_id again: the first result, and nothing reaches the gateway.
    let (status, again) = world.relay(&create("req-1")).await;
    assert_eq!((status, &again), (200, &body));

    // A refusal is an answer too.
    let relayed = tokio::spawn({
        let hub = world.hub_addr;
        let gateway_id = world.vps.gateway_id.clone();
        async move {
            relay_to(
                hub,
                &gateway_id,
                &json!({"type": "session.end", "schema_version": "1",
                                               "session_id": "ses-nosuch000000000000001"}),
            )
            .await
        }
    });
    let command = gateway.json().await;
    assert_eq!(
        command["type"], "session.end",
        "the repeat was not sent again: {command}"
    );
    assert!(
        command["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "the hub assigned one"
    );
    gateway
        .send(
            json!({"type": "ack", "schema_version": "1", "request_id": command["request_id"],
                     "ok": false, "error": "no such session"}),
        )
        .await;
    let (status, body) = relayed.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["ack"]["ok"], false);
    assert_eq!(body["ack"]["error"], "no such session");

    // No answer within the relay timeout: 504.
    let (status, body) = world.relay(&create("req-silent")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (504, Some("gateway_timeout"))
    );

    // Invalid commands and wrong secrets.
    for bad in [
        json!({"type": "session.create", "schema_version": "1"}),
        json!({"type": "session.teleport", "schema_version": "1"}),
        json!({"type": "session.resize", "schema_version": "1", "session_id": SESSION, "cols": 0, "rows": 1}),
        json!([1, 2, 3]),
    ] {
        let (status, body) = world.relay(&bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    for secret in ["", "wrong"] {
        let status = reqwest::Client::new()
            .post(format!(
                "http://{}/internal/gateways/{}/commands",
                world.hub_addr, world.vps.gateway_id
            ))
            .bearer_auth(secret)
            .json(&create("req-x"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401);
    }
}

async fn relay_to(hub: std::net::SocketAddr, gateway_id: &str, command: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "http://{hub}/internal/gateways/{gateway_id}/commands"
        ))
        .bearer_auth(HUB_SECRET)
        .json(command)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_attach_with_tickets_type_and_resume_without_loss() {
    let world = World::new().await;
    let mut gateway = world.gateway().await;

    // Tickets: forged, expired, for another session or VPS.
    let hub = world.hub_addr;
    let vps_id = &world.vps.id;
    let good = world.ticket(SESSION, Mode::ReadWrite);
    // Change the MAC's last character (to another one, whatever it was).
    let mut forged = good.clone();
    let last = forged.pop();
    forged.push(if last == Some('A') { 'Q' } else { 'A' });
    assert_eq!(
        Client::attach(hub, vps_id, SESSION, &forged, None)
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        Client::attach(hub, vps_id, SESSION, "garbage", None)
            .await
            .err(),
        Some(401)
    );
    let expired = ticket::sign(
        &AttachTicket::new(
            Holder::new(&world.user_id, TEST_LOGIN),
            &world.vps.gateway_id,
            vps_id,
            SESSION,
            Mode::ReadWrite,
            now_ms() - 120_000,
            60_000,
        ),
        HUB_SECRET,
    );
    assert_eq!(
        Client::attach(hub, vps_id, SESSION, &expired, None)
            .await
            .err(),
        Some(401)
    );
    let other_secret = ticket::sign(
        &AttachTicket::new(
            Holder::new(&world.user_id, TEST_LOGIN),
            &world.vps.gateway_id,
            vps_id,
            SESSION,
            Mode::ReadWrite,
            now_ms(),
            60_000,
        ),
        "another-secret",
    );
    assert_eq!(
        Client::attach(hub, vps_id, SESSION, &other_secret, None)
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        Client::attach(hub, vps_id, "ses-othersession000000001", &good, None)
            .await
            .err(),
        Some(403)
    );
    assert_eq!(
        Client::attach(hub, "vps-another000000000000", SESSION, &good, None)
            .await
            .err(),
        Some(403)
    );

    // A fresh attach gets a snapshot the hub asks the gateway for.
    let mut browser = world.browser(SESSION, Mode::ReadWrite, None).await;
    let asked = answer(&mut gateway, snapshot_for).await;
    assert_eq!(asked["type"], "session.snapshot");
    let snapshot = browser.json_of("session.snapshot").await;
    assert_eq!(
        (snapshot["content"].as_str(), snapshot["cols"].as_u64()),
        (Some("$ "), Some(80))
    );

    // Input reaches the gateway with a request_id; output comes back in order.
    browser
        .send(
            json!({"type": "session.input", "schema_version": "1", "session_id": SESSION,
                     "data": "ZWNobyBoaQ0="}),
        )
        .await;
    let input = answer(&mut gateway, |_| None).await;
    assert_eq!(
        (input["type"].as_str(), input["data"].as_str()),
        (Some("session.input"), Some("ZWNobyBoaQ0="))
    );
    assert!(input["request_id"].as_str().is_some());
    assert_eq!(browser.json_of("ack").await["ok"], true);
    for seq in 0..5 {
        gateway
            .output(SESSION, seq, format!("line {seq}\r\n").as_bytes())
            .await;
    }
    for seq in 0..5 {
        let (got, payload) = browser.frame().await;
        assert_eq!(
            (got, payload),
            (seq, format!("line {seq}\r\n").into_bytes())
        );
    }

    // Resize and ping.
    browser
        .send(json!({"type": "session.resize", "schema_version": "1", "session_id": SESSION, "cols": 120, "rows": 40}))
        .await;
    let resize = answer(&mut gateway, |_| None).await;
    assert_eq!(
        (resize["cols"].as_u64(), resize["rows"].as_u64()),
        (Some(120), Some(40))
    );
    browser
        .send(json!({"type": "ping", "schema_version": "1", "request_id": "p1"}))
        .await;
    assert_eq!(browser.json_of("pong").await["request_id"], "p1");

    // Read-only tickets cannot type; a second writer waits for the lease.
    let mut watcher = world.browser(SESSION, Mode::ReadOnly, Some(4)).await;
    watcher
        .send(json!({"type": "session.input", "schema_version": "1", "session_id": SESSION, "data": "eA=="}))
        .await;
    assert_eq!(watcher.json_of("error").await["code"], "read_only");
    let mut second = world.browser(SESSION, Mode::ReadWrite, Some(4)).await;
    second
        .send(json!({"type": "session.input", "schema_version": "1", "session_id": SESSION, "data": "eA=="}))
        .await;
    assert_eq!(second.json_of("error").await["code"], "writer_busy");
    // A malformed message is refused without closing; one for another session closes (1008).
    second.send_text("{not json".into()).await;
    assert_eq!(second.json_of("error").await["code"], "invalid_message");
    second
        .send(json!({"type": "session.ack", "schema_version": "1", "session_id": "ses-othersession000000001", "seq": 1}))
        .await;
    assert_eq!(second.closed().await, Some(1008));

    // Drop the browser after seq 4, produce more, reattach with last_seq: exactly the rest.
    browser.close().await;
    for seq in 5..10 {
        gateway
            .output(SESSION, seq, format!("line {seq}\r\n").as_bytes())
            .await;
    }
    // The watcher saw them live (it resumed from 4 as well).
    for seq in 5..10 {
        assert_eq!(watcher.frame().await.0, seq);
    }
    let mut resumed = world.browser(SESSION, Mode::ReadWrite, Some(4)).await;
    gateway.output(SESSION, 10, b"live").await;
    let seqs: Vec<u64> = futures_seqs(&mut resumed, 6).await;
    assert_eq!(seqs, (5..=10).collect::<Vec<_>>(), "no gap, no duplicate");

    // A duplicate frame from the gateway is not passed on twice.
    gateway.output(SESSION, 10, b"live").await;
    gateway.output(SESSION, 11, b"next").await;
    assert_eq!(resumed.frame().await.0, 11);

    // Out of the window: a gap, then a fresh snapshot.
    let mut late = world.browser(SESSION, Mode::ReadOnly, Some(900)).await;
    let gap = late.json_of("gap").await;
    assert_eq!(
        (gap["from_seq"].as_u64(), gap["to_seq"].as_u64()),
        (Some(900), Some(12))
    );
    answer(&mut gateway, snapshot_for).await;
    late.json_of("session.snapshot").await;
}

async fn futures_seqs(client: &mut Client, n: usize) -> Vec<u64> {
    let mut seqs = Vec::new();
    while seqs.len() < n {
        seqs.push(client.frame().await.0);
    }
    seqs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_close_the_offender_and_everyone_else_keeps_going() {
    let world = World::new().await;
    let mut gateway = world.gateway().await;
    let mut browser = world.browser(SESSION, Mode::ReadWrite, None).await;
    answer(&mut gateway, snapshot_for).await;

    // A browser sending binary, or over 1 MiB of text, is closed; others are not.
    let mut rude = world.browser(SESSION, Mode::ReadWrite, None).await;
    answer(&mut gateway, snapshot_for).await;
    rude.send_binary(vec![2, 0]).await;
    assert_eq!(rude.closed().await, Some(1008));
    let mut big = world.browser(SESSION, Mode::ReadWrite, None).await;
    answer(&mut gateway, snapshot_for).await;
    big.send_text(format!("{{\"pad\":\"{}\"}}", "x".repeat(1024 * 1024 + 10)))
        .await;
    assert_eq!(big.closed().await, Some(1009));

    // Unknown events from a newer gateway are ignored.
    gateway
        .send(json!({"type": "gateway.teleported", "schema_version": "1"}))
        .await;
    gateway.send_text("{broken".into()).await;
    gateway.output(SESSION, 0, b"still here").await;
    assert_eq!(browser.frame().await, (0, b"still here".to_vec()));

    // A second connection of the gateway replaces the first (4000), output continues.
    let mut replacement = world.gateway().await;
    assert_eq!(gateway.closed().await, Some(4000));
    replacement.output(SESSION, 1, b"from the new socket").await;
    assert_eq!(browser.frame().await, (1, b"from the new socket".to_vec()));

    // A truncated frame header closes the gateway with 1008; oversize binary with 1009.
    replacement.send_binary(vec![1, 200, b'x']).await;
    assert_eq!(replacement.closed().await, Some(1008));
    let mut third = world.gateway().await;
    third.send_binary(vec![0u8; 70 * 1024]).await;
    assert_eq!(third.closed().await, Some(1009));
    let mut fourth = world.gateway().await;
    fourth
        .send_text(format!(
            "{{\"type\":\"gateway.health\",\"pad\":\"{}\"}}",
            "x".repeat(1024 * 1024)
        ))
        .await;
    assert_eq!(fourth.closed().await, Some(1009));

    // The browser is still attached and served.
    let mut fifth = world.gateway().await;
    fifth.output(SESSION, 2, b"after all that").await;
    assert_eq!(browser.frame().await, (2, b"after all that".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_that_stops_reading_falls_behind_without_slowing_the_others() {
    // Writes to the stalled browser may wait as long as the test takes.
    let world = World::with(|config| {
        config.browser_queue.write_timeout = Duration::from_secs(600);
    })
    .await;
    let mut gateway = world.gateway().await;
    let mut reader = world.browser(SESSION, Mode::ReadOnly, None).await;
    answer(&mut gateway, snapshot_for).await;
    let mut stalled = world.browser(SESSION, Mode::ReadOnly, None).await;
    answer(&mut gateway, snapshot_for).await;
    stalled.json_of("session.snapshot").await;

    // 40 MiB of output: far more than the stalled browser's queue, socket buffers and the
    // replay window hold. The gateway never runs more than 2 MiB ahead of the reading
    // browser, as a terminal that a person reads would not; the stalled one falls behind
    // without bound.
    let payload = vec![b'x'; 16 * 1024];
    let frames: u64 = 2560;
    let (read_tx, mut read_rx) = tokio::sync::watch::channel(0u64);
    let writer = tokio::spawn(async move {
        for seq in 0..frames {
            read_rx.wait_for(|read| seq < read + 128).await.unwrap();
            gateway.output(SESSION, seq, &payload).await;
        }
        gateway
    });
    for seq in 0..frames {
        assert_eq!(reader.frame().await.0, seq);
        read_tx.send_replace(seq + 1);
    }
    let mut gateway = writer.await.unwrap();

    // Reading again, the stalled browser gets the frames it had, in order, then a gap to
    // where the window went on, and a snapshot; it is never closed.
    let mut next = 0;
    let gap = loop {
        match stalled.next().await {
            Received::Frame { seq, .. } => {
                assert_eq!(seq, next, "frames in order, none lost before the gap");
                next += 1;
            }
            Received::Json(value) if value["type"] == "gap" => break value,
            Received::Json(_) => {}
            Received::Closed(code) => panic!("closed with {code:?}"),
        }
    };
    assert_eq!(
        (gap["from_seq"].as_u64(), gap["to_seq"].as_u64()),
        (Some(next - 1), Some(frames)),
        "{gap}"
    );
    answer(&mut gateway, snapshot_for).await;
    stalled.json_of("session.snapshot").await;
    gateway.output(SESSION, frames, b"live again").await;
    assert_eq!(stalled.frame().await, (frames, b"live again".to_vec()));
    let metrics = world.metrics().await;
    assert!(
        metrics.contains("chatcode_hub_evictions_total 0\n"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("chatcode_hub_browser_gaps_total 0\n"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_back_within_the_grace_is_never_recorded_offline() {
    let world = World::with(|config| config.timers.gateway_grace = Duration::from_secs(5)).await;
    let gateway = world.gateway().await;
    world
        .wait_for_vps("connected", |d| d["gateway"]["connected"] == true)
        .await;
    gateway.close().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _again = world.gateway().await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let detail = world.vps_detail().await;
    assert_eq!(detail["gateway"]["connected"], true, "{detail}");
    assert!(detail["gateway"]["disconnected_at"].is_null(), "{detail}");
}

fn health(gateway_id: &str, cpu_percent: f64) -> Value {
    json!({"type": "gateway.health", "schema_version": "1", "gateway_id": gateway_id,
           "timestamp": "2026-11-22T03:00:00Z", "cpu_percent": cpu_percent,
           "active_sessions": []})
}

/// The `status` of the next `gateway.status` a browser gets.
async fn next_status(browser: &mut Client) -> String {
    let status = browser.json_of("gateway.status").await;
    status["status"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_hear_their_gateway_drop_come_back_and_go_offline() {
    const OTHER: &str = "ses-hubtest00000000000002";
    // A grace a loaded machine cannot overrun while the gateway redials.
    let world = World::with(|config| config.timers.gateway_grace = Duration::from_secs(4)).await;
    let gateway_id = world.vps.gateway_id.clone();
    let mut gateway = world.gateway().await;
    let mut first = world.browser(SESSION, Mode::ReadWrite, None).await;
    answer(&mut gateway, snapshot_for).await;
    first.json_of("session.snapshot").await;
    let mut second = world.browser(OTHER, Mode::ReadOnly, None).await;
    answer(&mut gateway, snapshot_for).await;
    second.json_of("session.snapshot").await;

    // The gateway's health reaches the browsers of every session, unchanged.
    gateway.send(health(&gateway_id, 12.5)).await;
    for browser in [&mut first, &mut second] {
        let health = browser.json_of("gateway.health").await;
        assert_eq!(health["cpu_percent"], 12.5, "{health}");
    }

    // It drops: reconnecting. Back inside the grace: connected, then its hello.
    gateway.close().await;
    for browser in [&mut first, &mut second] {
        assert_eq!(next_status(browser).await, "reconnecting");
    }
    let gateway = world.gateway().await;
    for browser in [&mut first, &mut second] {
        let status = browser.json_of("gateway.status").await;
        assert_eq!(
            (status["gateway_id"].as_str(), status["status"].as_str()),
            (Some(gateway_id.as_str()), Some("connected")),
            "{status}"
        );
        assert_eq!(
            browser.json_of("gateway.hello").await["gateway_id"],
            *gateway_id
        );
    }

    // It drops for longer than the grace: reconnecting, then offline.
    gateway.close().await;
    for browser in [&mut first, &mut second] {
        assert_eq!(next_status(browser).await, "reconnecting");
        assert_eq!(next_status(browser).await, "offline");
    }

    // A browser attaching now hears so at once, and its input is refused.
    let mut late = world.browser(SESSION, Mode::ReadWrite, None).await;
    let status = late.json().await;
    assert_eq!(
        (status["type"].as_str(), status["status"].as_str()),
        (Some("gateway.status"), Some("offline")),
        "{status}"
    );
    late.send(
        json!({"type": "session.input", "schema_version": "1", "session_id": SESSION,
                     "data": "eA=="}),
    )
    .await;
    assert_eq!(late.json_of("error").await["code"], "gateway_offline");

    // When the gateway is back, its greeting's snapshot redraws every browser of the session.
    let mut gateway = world.gateway().await;
    gateway
        .send(
            json!({"type": "session.snapshot", "schema_version": "1", "session_id": SESSION,
                     "content": "$ back", "cols": 80, "rows": 24}),
        )
        .await;
    for browser in [&mut late, &mut first] {
        assert_eq!(next_status(browser).await, "connected");
        let snapshot = browser.json_of("session.snapshot").await;
        assert_eq!(snapshot["content"], "$ back", "{snapshot}");
    }
    assert_eq!(next_status(&mut second).await, "connected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_simulator_runs_a_session_through_the_hub_and_survives_a_restart() {
    use chatcode_gateway_sim::{Backoff, GatewaySim, SimConfig};

    let world = World::new().await;
    let vps = world.vps.clone();
    let mut config = SimConfig::new(
        format!("ws://{}/gw/connect", world.hub_addr),
        &vps.gateway_id,
        &vps.token,
    );
    config.backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(500),
    };
    config.health_interval = Duration::from_millis(500);
    let sim = GatewaySim::start(config.clone());
    sim.wait_connected(Duration::from_secs(15)).await.unwrap();
    world
        .wait_for_vps("active", |d| {
            d["status"] == "active" && d["gateway"]["connected"] == true
        })
        .await;

    let (status, started) = world.relay(&create("req-sim-1")).await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["event"]["type"], "session.started");

    let mut browser = world.browser(SESSION, Mode::ReadWrite, None).await;
    browser.json_of("session.snapshot").await;
    browser
        .send(
            json!({"type": "session.input", "schema_version": "1", "session_id": SESSION,
                     "data": "ZWNobyBoaQ0="}),
        )
        .await;
    let mut seen = Vec::new();
    let mut last_seq = None;
    while !String::from_utf8_lossy(&seen).contains("hi\r\n") {
        let (seq, payload) = browser.frame().await;
        assert!(
            last_seq.is_none_or(|last| seq == last + 1),
            "seq {seq} after {last_seq:?}"
        );
        last_seq = Some(seq);
        seen.extend(payload);
    }

    // The gateway never answers: the relay gives up with 504.
    sim.drop_next_acks(1);
    let (status, _) = world.relay(&create("req-sim-silent")).await;
    assert_eq!(status, 504);

    // The gateway process restarts within the grace; the session and its seq live on.
    let kept = sim.stop_keep_sessions().await;
    let sim = GatewaySim::start_with(config, kept);
    sim.wait_connected(Duration::from_secs(15)).await.unwrap();
    let snapshot = browser.json_of("session.snapshot").await;
    assert_eq!(snapshot["session_id"], SESSION);
    browser
        .send(
            json!({"type": "session.input", "schema_version": "1", "session_id": SESSION,
                     "data": "ZWNobyBhZ2Fpbg0="}),
        )
        .await;
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("again\r\n") {
        let (seq, payload) = browser.frame().await;
        assert!(
            last_seq.is_none_or(|last| seq > last),
            "seq {seq} after {last_seq:?}"
        );
        last_seq = Some(seq);
        seen.extend(payload);
    }
    let detail = world.vps_detail().await;
    assert_eq!(detail["gateway"]["connected"], true, "{detail}");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_browsers_are_closed_and_active_ones_are_not() {
    let world = World::with(|config| {
        config.timers.browser_idle = Duration::from_secs(2);
        config.timers.idle_sweep = Duration::from_millis(250);
    })
    .await;
    let mut gateway = world.gateway().await;
    let mut idle = world.browser(SESSION, Mode::ReadOnly, None).await;
    answer(&mut gateway, snapshot_for).await;
    let mut busy = world.browser(SESSION, Mode::ReadOnly, None).await;
    answer(&mut gateway, snapshot_for).await;
    idle.json_of("session.snapshot").await;
    busy.json_of("session.snapshot").await;
    let keep_alive = tokio::spawn(async move {
        for n in 0..12 {
            busy.send(
                json!({"type": "ping", "schema_version": "1", "request_id": format!("p{n}")}),
            )
            .await;
            busy.json_of("pong").await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        busy
    });
    assert_eq!(idle.closed().await, Some(1000));
    let mut busy = keep_alive.await.unwrap();
    gateway.output(SESSION, 0, b"still attached").await;
    assert_eq!(busy.frame().await, (0, b"still attached".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_health_storm_is_coalesced_and_a_gateway_flooding_session_events_is_closed() {
    let world = World::with(|config| {
        config.limits.event_queue.rate = chatcode_hub::Rate {
            per_second: 0.001,
            burst: 20.0,
        };
    })
    .await;
    let gateway_id = world.vps.gateway_id.clone();
    let mut gateway = world.gateway().await;

    // Health at full speed: recorded as the newest report, never a reason to close.
    for n in 0..2000 {
        gateway.send(health(&gateway_id, f64::from(n))).await;
    }
    world
        .wait_for_vps("the newest health", |d| {
            d["gateway"]["health"]["cpu_percent"] == 1999.0
        })
        .await;

    // Session events past the cap: the socket is closed with 1008.
    // With the hello, the 20th is one past the burst (nothing is sent after it: unread data
    // would make the hub's close a reset).
    for n in 0..20 {
        let error = json!({"type": "session.error", "schema_version": "1",
                           "session_id": SESSION, "error": format!("boom {n}")});
        gateway.send_text(error.to_string()).await;
    }
    assert_eq!(gateway.closed().await, Some(1008));
    let metrics = world.metrics().await;
    assert!(
        metrics.contains("chatcode_hub_gateways_flooding_closed_total 1\n"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("chatcode_hub_events_coalesced_total 0\n"),
        "{metrics}"
    );
}

/// DESIGN.md: the hub applies the app's migrations when it starts, so an app served without
/// `chatcode up` (a hosted runtime next to the hub) has its schema before the first gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_applies_the_apps_migrations_when_it_starts() {
    chatcode_testkit::ensure_components_built();
    let dir = tempfile::tempdir().unwrap();
    let mut options =
        chatcode_runtime::RuntimeOptions::new(chatcode_testkit::workspace_root().join("spin.toml"));
    options.data_dir = Some(dir.path().join("app"));
    let hub_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub_url = format!("http://{}", hub_listener.local_addr().unwrap());
    for (name, value) in [
        ("environment", "development"),
        ("hub_secret", HUB_SECRET),
        ("hub_url", &hub_url),
        ("hub_public_url", &hub_url),
        ("public_url", "http://127.0.0.1"),
        (
            "token_encryption_key",
            chatcode_testkit::TEST_ENCRYPTION_KEY,
        ),
        ("gateway_token_salt", "test-gateway-token-salt"),
    ] {
        options.variables.insert(name.into(), value.into());
    }
    let runtime = tokio::task::spawn_blocking(move || chatcode_runtime::Runtime::load(&options))
        .await
        .unwrap()
        .unwrap();
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://{}", app_listener.local_addr().unwrap());
    let serving = runtime.serve(app_listener).unwrap();
    let health = || async {
        let response = reqwest::get(format!("{app}/healthz")).await.unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()
    };
    let schema_version = || async { health().await["schema_version"].as_i64().unwrap() };
    assert_eq!(schema_version().await, 0);
    // One version per migration file.
    let migrations = std::fs::read_dir(chatcode_testkit::workspace_root().join("migrations"))
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    let latest = i64::try_from(migrations).unwrap();

    let hub =
        chatcode_hub::serve(chatcode_hub::HubConfig::new(&app, HUB_SECRET), hub_listener).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while schema_version().await != latest {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the schema never reached version {latest}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    hub.shutdown().await;
    serving.shutdown().await;
}
