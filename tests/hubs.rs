//! Several hubs behind one address, sharing one Redis: a browser on one hub drives a gateway
//! on another (output, input, resume, the writer lease, revocation), the app's relay reaches
//! the gateway through either hub, and when the gateway's hub dies the gateway comes back on
//! another and the browser resumes with a `gap` and a snapshot, nothing lost beyond it; when
//! Redis crashes and comes back empty, bridges close and form again, and nothing is lost.

mod hub_support;

use std::{net::SocketAddr, time::Duration};

use chatcode_core::ticket::Mode;
use chatcode_hub::HubConfig;
use chatcode_testkit::redis::RedisServer;
use hub_support::{
    Client, HUB_SECRET, RawGateway, Received, World, answer, snapshot_for, test_timers,
};
use serde_json::{Value, json};

const SESSION: &str = "ses-hubstest0000000000001";
/// Longest a test waits for a hub to claim a gateway (only a guard against hanging).
const WAIT: Duration = Duration::from_secs(60);

fn keys_for(command: &Value) -> Option<Value> {
    Some(json!({"type": "ssh.keys", "schema_version": "1",
                "request_id": command["request_id"], "keys": []}))
}

/// A world whose own hub (A) and a second in-process hub share `redis`.
async fn two_hubs(redis: &RedisServer) -> (World, chatcode_hub::Serving) {
    let url = redis.url();
    let world = World::with(|config| config.redis_url = Some(url.clone())).await;
    let mut config = HubConfig::new(world.app.url(""), HUB_SECRET);
    config.timers = test_timers();
    config.redis_url = Some(redis.url());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b = chatcode_hub::serve(config, listener).unwrap();
    (world, b)
}

async fn healthz(hub: SocketAddr) -> Value {
    reqwest::get(format!("http://{hub}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits until `hub` says in its `/healthz` that it holds `n` gateways.
async fn wait_owned(hub: SocketAddr, n: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let health = healthz(hub).await;
        if health["owned_gateways"].as_u64() == Some(n) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waiting for {hub} to hold {n} gateways: {health}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The gateway of `world`'s VPS dials `hub` and says hello.
async fn gateway_on(world: &World, hub: SocketAddr) -> RawGateway {
    let mut gateway = RawGateway::dial(hub, &world.vps.gateway_id, &world.vps.token)
        .await
        .unwrap();
    gateway.hello(&world.vps.gateway_id).await;
    gateway.linked().await;
    wait_owned(hub, 1).await;
    gateway
}

async fn browser_on(world: &World, hub: SocketAddr, mode: Mode, last_seq: Option<u64>) -> Client {
    Client::attach(
        hub,
        &world.vps.id,
        SESSION,
        &world.ticket(SESSION, mode),
        last_seq,
    )
    .await
    .unwrap()
}

async fn relay_through(hub: SocketAddr, gateway_id: &str, command: &Value) -> (u16, Value) {
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

async fn input(browser: &mut Client, data: &str) {
    browser
        .send(
            json!({"type": "session.input", "schema_version": "1", "session_id": SESSION,
                     "data": data}),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_on_one_hub_drives_a_gateway_on_another() {
    let redis = RedisServer::start().unwrap();
    let (world, b) = two_hubs(&redis).await;
    let a = world.hub_addr;
    let mut gateway = gateway_on(&world, b.addr).await;
    assert_eq!(healthz(a).await["owned_gateways"], 0);

    // A fresh attach on A gets the snapshot B asks the gateway for.
    let mut browser = browser_on(&world, a, Mode::ReadWrite, None).await;
    let asked = answer(&mut gateway, snapshot_for).await;
    assert_eq!(asked["type"], "session.snapshot");
    assert_eq!(browser.json_of("session.snapshot").await["content"], "$ ");

    // Input crosses to the gateway, its ack comes back; output comes back in order.
    input(&mut browser, "ZWNobyBoaQ0=").await;
    let typed = answer(&mut gateway, |_| None).await;
    assert_eq!(
        (typed["type"].as_str(), typed["data"].as_str()),
        (Some("session.input"), Some("ZWNobyBoaQ0="))
    );
    assert_eq!(browser.json_of("ack").await["ok"], true);
    for seq in 0..5 {
        gateway
            .output(SESSION, seq, format!("line {seq}").as_bytes())
            .await;
    }
    for seq in 0..5 {
        assert_eq!(
            browser.frame().await,
            (seq, format!("line {seq}").into_bytes())
        );
    }
    browser
        .send(json!({"type": "ping", "schema_version": "1", "request_id": "p1"}))
        .await;
    assert_eq!(browser.json_of("pong").await["request_id"], "p1");

    // The lease holds across hubs: a second writer on B, and one on A, are refused.
    let mut second = browser_on(&world, b.addr, Mode::ReadWrite, Some(4)).await;
    input(&mut second, "eA==").await;
    assert_eq!(second.json_of("error").await["code"], "writer_busy");
    let mut third = browser_on(&world, a, Mode::ReadWrite, Some(4)).await;
    input(&mut third, "eA==").await;
    assert_eq!(third.json_of("error").await["code"], "writer_busy");
    second.close().await;
    third.close().await;

    // Resume on A from seq 2: exactly the frames after it, from B's window.
    browser.close().await;
    gateway.output(SESSION, 5, b"line 5").await;
    let mut resumed = browser_on(&world, a, Mode::ReadWrite, Some(2)).await;
    for seq in 3..=5 {
        assert_eq!(resumed.frame().await.0, seq);
    }

    // The app's relay reaches the gateway through either hub.
    for (hub, id) in [(a, "relay-a"), (b.addr, "relay-b")] {
        let command = json!({"type": "ssh.list", "schema_version": "1", "request_id": id});
        let gateway_id = world.vps.gateway_id.clone();
        let relayed = tokio::spawn(async move { relay_through(hub, &gateway_id, &command).await });
        let seen = answer(&mut gateway, keys_for).await;
        assert_eq!(seen["request_id"], id);
        let (status, body) = relayed.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["request_id"], id);
        assert_eq!(body["event"]["type"], "ssh.keys");
    }

    // A revocation sent to B closes the terminal bridged through A; A refuses the ticket too.
    let (status, _) = reqwest::Client::new()
        .post(format!("http://{}/internal/revoke", b.addr))
        .bearer_auth(HUB_SECRET)
        .json(
            &json!({"kind": "session", "gateway_id": world.vps.gateway_id,
                      "session_id": SESSION}),
        )
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(resumed.closed().await, Some(4002));
    // A hears of it over Redis: its tickets for the session are refused too.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let ticket = world.ticket(SESSION, Mode::ReadWrite);
        match Client::attach(a, &world.vps.id, SESSION, &ticket, None).await {
            Err(status) => {
                assert_eq!(status, 401);
                break;
            }
            Ok(early) => early.close().await,
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "A never heard of the revocation"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_hub_dies_its_gateway_comes_back_on_another_and_browsers_resume_with_a_gap() {
    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    let world = World::with(|config| config.redis_url = Some(url.clone())).await;
    let a = world.hub_addr;
    let b = hub_support::clustered_hub_process(&world.app.url(""), &redis.url());
    let mut gateway = gateway_on(&world, b.addr()).await;

    let mut browser = browser_on(&world, a, Mode::ReadWrite, None).await;
    answer(&mut gateway, snapshot_for).await;
    browser.json_of("session.snapshot").await;
    for seq in 0..4 {
        gateway.output(SESSION, seq, b"before").await;
    }
    let mut last_seen = None;
    for _ in 0..4 {
        last_seen = Some(browser.frame().await.0);
    }
    assert_eq!(last_seen, Some(3));

    // B dies with a frame in flight; the gateway reconnects through the shared address and
    // lands on A, which claims it: the bridge to B closes (1012) and the browser resumes.
    gateway.output(SESSION, 4, b"maybe lost").await;
    tokio::task::block_in_place(|| b.kill());
    let mut gateway = gateway_on(&world, a).await;
    loop {
        match browser.next().await {
            Received::Frame { seq, .. } => last_seen = Some(seq),
            Received::Closed(code) => {
                assert_eq!(code, Some(1012));
                break;
            }
            Received::Json(_) => {}
        }
    }
    let last_seq = last_seen.unwrap();
    let mut resumed = browser_on(&world, a, Mode::ReadWrite, Some(last_seq)).await;
    let gap = resumed.json_of("gap").await;
    assert_eq!(gap["from_seq"].as_u64(), Some(last_seq));
    let asked = answer(&mut gateway, snapshot_for).await;
    assert_eq!(asked["type"], "session.snapshot");
    assert_eq!(resumed.json_of("session.snapshot").await["content"], "$ ");

    // Output continues from the gateway's seq: every frame after the gap, in order.
    for seq in 5..8 {
        gateway.output(SESSION, seq, b"after").await;
    }
    for seq in 5..8 {
        assert_eq!(resumed.frame().await, (seq, b"after".to_vec()));
    }
    // And the browser types into it on A.
    input(&mut resumed, "eQ==").await;
    assert_eq!(answer(&mut gateway, |_| None).await["data"], "eQ==");
    assert_eq!(healthz(a).await["owned_gateways"], 1);
}

/// A counter of `hub`'s `/metrics`.
async fn metric(hub: SocketAddr, name: &str) -> u64 {
    let text = reqwest::get(format!("http://{hub}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} is not in {text}"))
}

/// What a browser read: a hash of every frame's seq and payload, in order.
fn digest<'a>(frames: impl Iterator<Item = (u64, &'a [u8])>) -> u64 {
    use std::hash::{DefaultHasher, Hasher};
    let mut hasher = DefaultHasher::new();
    for (seq, payload) in frames {
        hasher.write_u64(seq);
        hasher.write(payload);
    }
    hasher.finish()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_browsers_on_one_hub_get_every_frame_of_another_through_one_copy() {
    const BROWSERS: usize = 40;
    const FRAMES: u64 = 200;
    let redis = RedisServer::start().unwrap();
    let (world, b) = two_hubs(&redis).await;
    let a = world.hub_addr;
    let mut gateway = gateway_on(&world, b.addr).await;

    let mut browsers = Vec::new();
    for _ in 0..BROWSERS {
        let mut browser = browser_on(&world, a, Mode::ReadOnly, None).await;
        answer(&mut gateway, snapshot_for).await;
        browser.json_of("session.snapshot").await;
        browsers.push(browser);
    }
    let payloads: Vec<Vec<u8>> = (0..FRAMES)
        .map(|seq| {
            (0..4096u64)
                .map(|i| u8::try_from((seq * 31 + i * 7) % 251).unwrap())
                .collect()
        })
        .collect();
    let expected = digest((0..FRAMES).zip(payloads.iter().map(Vec::as_slice)));
    let readers: Vec<_> = browsers
        .into_iter()
        .map(|mut browser| {
            tokio::spawn(async move {
                let mut frames = Vec::new();
                for _ in 0..FRAMES {
                    frames.push(browser.frame().await);
                }
                digest(
                    frames
                        .iter()
                        .map(|(seq, payload)| (*seq, payload.as_slice())),
                )
            })
        })
        .collect();
    for (seq, payload) in (0..FRAMES).zip(&payloads) {
        gateway.output(SESSION, seq, payload).await;
    }
    for reader in readers {
        assert_eq!(reader.await.unwrap(), expected);
    }

    // From Redis's side: each frame crossed once for all forty browsers.
    let records = metric(b.addr, "chatcode_hub_bridge_records_total").await;
    let deliveries = metric(b.addr, "chatcode_hub_bridge_deliveries_total").await;
    let publishes = metric(b.addr, "chatcode_hub_bridge_publishes_total").await;
    assert!(deliveries >= BROWSERS as u64 * FRAMES, "{deliveries}");
    assert!(
        records * 10 < deliveries,
        "{records} records for {deliveries} deliveries"
    );
    assert!(publishes <= records, "{publishes} > {records}");
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_hubs_gateway_that_stays_away_is_recorded_offline_by_a_surviving_hub() {
    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    let world = World::with(|config| config.redis_url = Some(url.clone())).await;
    let b = hub_support::clustered_hub_process(&world.app.url(""), &redis.url());
    let gateway = gateway_on(&world, b.addr()).await;
    world
        .wait_for_vps("connected", |d| d["gateway"]["connected"] == true)
        .await;
    // B has written its record of held gateways.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !chatcode_testkit::redis::keys(&redis.url(), "chatcode:hub:")
        .iter()
        .any(|key| key.ends_with(":gateways"))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "B never recorded its gateways"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // B dies and its gateway stays away: once B's liveness lapses and the grace is over, A
    // tells the app the gateway is gone.
    tokio::task::block_in_place(|| b.kill());
    drop(gateway);
    let deadline = tokio::time::Instant::now() + 3 * WAIT;
    loop {
        let detail = world.vps_detail().await;
        if detail["gateway"]["connected"] == false {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the gateway stayed connected: {detail}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while chatcode_testkit::redis::keys(&redis.url(), "chatcode:hub:")
        .iter()
        .any(|key| key.ends_with(":gateways"))
    {
        assert!(tokio::time::Instant::now() < deadline, "B's record stayed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Redis crashes and comes back empty: the hub whose browser was bridged closes it (1012), the
/// gateway stays linked to its own hub throughout, and once both hubs are back on Redis (the
/// owner re-claims the gateway, each subscribes again) the browser resumes through a new
/// bridge with every frame the gateway sent meanwhile, in order, and types into it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_that_loses_redis_closes_its_bridges_and_bridges_again_once_redis_is_back() {
    let mut redis = RedisServer::start().unwrap();
    let (world, b) = two_hubs(&redis).await;
    let a = world.hub_addr;
    let mut gateway = gateway_on(&world, b.addr).await;
    let mut browser = browser_on(&world, a, Mode::ReadWrite, None).await;
    answer(&mut gateway, snapshot_for).await;
    browser.json_of("session.snapshot").await;
    gateway.output(SESSION, 0, b"before").await;
    assert_eq!(browser.frame().await, (0, b"before".to_vec()));

    tokio::task::block_in_place(|| redis.kill());
    loop {
        match browser.next().await {
            Received::Closed(code) => {
                assert_eq!(code, Some(1012));
                break;
            }
            Received::Frame { seq, .. } => panic!("frame {seq} after redis died"),
            Received::Json(_) => {}
        }
    }
    for seq in 1..=3 {
        gateway.output(SESSION, seq, b"during").await;
    }
    tokio::task::block_in_place(|| redis.restart()).unwrap();

    // Until B has claimed the gateway again, A takes it for unclaimed and answers an attach
    // itself (a `gap`, no output) or refuses it; B's new claim moves such browsers to B
    // (1012). Then an attach on A resumes from seq 0 through a bridge to B.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut resumed = 'attach: loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "A never bridged again after redis came back"
        );
        let ticket = world.ticket(SESSION, Mode::ReadWrite);
        if let Ok(mut attempt) =
            Client::try_attach(a, &world.vps.id, SESSION, &ticket, Some(0)).await
        {
            loop {
                match tokio::time::timeout(WAIT, attempt.next()).await {
                    Ok(Received::Frame { seq, payload }) => {
                        assert_eq!((seq, payload), (1, b"during".to_vec()));
                        break 'attach attempt;
                    }
                    Ok(Received::Json(_)) => {}
                    Ok(Received::Closed(_)) => break,
                    Err(_) => panic!("an attach on A neither resumed nor closed"),
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for seq in 2..=3 {
        assert_eq!(resumed.frame().await, (seq, b"during".to_vec()));
    }
    gateway.output(SESSION, 4, b"after").await;
    assert_eq!(resumed.frame().await, (4, b"after".to_vec()));
    input(&mut resumed, "eQ==").await;
    assert_eq!(answer(&mut gateway, |_| None).await["data"], "eQ==");
    assert_eq!(healthz(b.addr).await["owned_gateways"], 1);
    b.shutdown().await;
}
