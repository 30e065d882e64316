//! Resuming never loops: a browser that missed more frames than its queue holds gets them as
//! its queue drains (when the replay window has them), or a `gap` and a snapshot (when it does
//! not), and is never closed for it. Tried with 2 MiB missed in small frames and in large ones.

mod hub_support;

use chatcode_core::ticket::Mode;
use hub_support::{Client, Received, World};
use serde_json::json;

const SESSION: &str = "ses-resume00000000000001";

/// Frame `seq`'s payload: `len` bytes, different for every seq.
fn payload(seq: u64, len: usize) -> Vec<u8> {
    let mut bytes = seq.to_be_bytes().repeat(len / 8 + 1);
    bytes.truncate(len);
    bytes
}

/// A gateway with one browser that has seen frame 0, then left; `missed` more frames of
/// `len` bytes went out while it was away. Returns the gateway.
async fn missed(world: &World, missed: u64, len: usize) -> Client {
    let mut gateway = world.gateway().await;
    let mut browser = world.browser(SESSION, Mode::ReadOnly, None).await;
    answer_snapshot(&mut gateway).await;
    browser.json_of("session.snapshot").await;
    gateway.output(SESSION, 0, &payload(0, len)).await;
    assert_eq!(browser.frame().await.0, 0);
    browser.close().await;
    for seq in 1..=missed {
        gateway.output(SESSION, seq, &payload(seq, len)).await;
    }
    gateway.read_by_hub().await;
    gateway
}

async fn answer_snapshot(gateway: &mut Client) {
    let command = gateway.json_of("session.snapshot").await;
    gateway
        .send(json!({"type": "ack", "schema_version": "1", "request_id": command["request_id"], "ok": true}))
        .await;
    gateway
        .send(json!({"type": "session.snapshot", "schema_version": "1",
                     "request_id": command["request_id"], "session_id": command["session_id"],
                     "content": "$ "}))
        .await;
}

/// Resumes from frame 0 and expects every missed frame, byte for byte, then a live one.
async fn resume_exactly(world: &World, gateway: &mut Client, missed: u64, len: usize) {
    let mut browser = world.browser(SESSION, Mode::ReadOnly, Some(0)).await;
    for seq in 1..=missed {
        let (got, bytes) = browser.frame().await;
        assert_eq!(got, seq);
        assert!(bytes == payload(seq, len), "frame {seq} differs");
    }
    gateway.output(SESSION, missed + 1, b"live").await;
    assert_eq!(browser.frame().await, (missed + 1, b"live".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_mib_missed_in_small_frames_stream_as_the_queue_drains() {
    // A 4 MiB window holds the 2 MiB (and the frames' headers); the browser's queue takes
    // 1,024 messages, so 2,048 frames of 1 KiB cannot go at once.
    let world = World::with(|config| config.limits.replay_bytes = 4 << 20).await;
    let mut gateway = missed(&world, 2048, 1024).await;
    resume_exactly(&world, &mut gateway, 2048, 1024).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_mib_missed_in_large_frames_stream_as_the_queue_drains() {
    let world = World::with(|config| config.limits.replay_bytes = 4 << 20).await;
    let mut gateway = missed(&world, 128, 16 * 1024).await;
    resume_exactly(&world, &mut gateway, 128, 16 * 1024).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_gone_from_the_window_give_a_gap_and_a_snapshot_every_time() {
    // The default 2 MiB window: 2,000 frames of 1 KiB and their headers do not fit, so the
    // first missed ones are gone.
    let world = World::new().await;
    let mut gateway = missed(&world, 2000, 1024).await;
    for attempt in 0..3 {
        let mut browser = world.browser(SESSION, Mode::ReadOnly, Some(0)).await;
        let gap = browser.json_of("gap").await;
        assert_eq!(
            (gap["from_seq"].as_u64(), gap["to_seq"].as_u64()),
            (Some(0), Some(2001 + attempt)),
            "{gap}"
        );
        answer_snapshot(&mut gateway).await;
        browser.json_of("session.snapshot").await;
        let seq = 2001 + attempt;
        gateway.output(SESSION, seq, b"live").await;
        gateway.read_by_hub().await;
        match browser.next().await {
            Received::Frame { seq: got, payload } => {
                assert_eq!((got, payload), (seq, b"live".to_vec()));
            }
            other => panic!("expected the live frame, got {other:?}"),
        }
        browser.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_links_is_asked_once_for_each_watched_session() {
    const OTHER: &str = "ses-resume00000000000002";
    let world = World::new().await;

    // Two browsers wait on one session and one on another while the gateway is away.
    let mut first = world.browser(SESSION, Mode::ReadOnly, None).await;
    let mut second = world.browser(SESSION, Mode::ReadOnly, None).await;
    let mut other = world.browser(OTHER, Mode::ReadOnly, None).await;
    for browser in [&mut first, &mut second, &mut other] {
        assert_eq!(browser.json_of("gateway.status").await["status"], "offline");
    }

    // It links and greets with a hello only: the hub asks for each session once.
    let mut gateway = world.gateway().await;
    let mut asked = Vec::new();
    for _ in 0..2 {
        let ask = gateway.json_of("session.snapshot").await;
        asked.push(ask["session_id"].as_str().unwrap().to_owned());
        gateway
            .send(json!({"type": "ack", "schema_version": "1", "request_id": ask["request_id"], "ok": true}))
            .await;
        gateway
            .send(json!({"type": "session.snapshot", "schema_version": "1",
                         "request_id": ask["request_id"], "session_id": ask["session_id"],
                         "content": format!("screen of {}", ask["session_id"])}))
            .await;
    }
    asked.sort();
    assert_eq!(asked, [SESSION, OTHER]);
    for (browser, session) in [
        (&mut first, SESSION),
        (&mut second, SESSION),
        (&mut other, OTHER),
    ] {
        let snapshot = browser.json_of("session.snapshot").await;
        assert_eq!(snapshot["content"], format!("screen of \"{session}\""));
    }

    // Output flows; a browser that left before the gateway links again cannot resume across
    // the link (the gateway dropped what it could not send): a gap, and a snapshot.
    gateway.output(SESSION, 0, b"before").await;
    assert_eq!(first.frame().await.0, 0);
    first.close().await;
    gateway.close().await;
    let mut gateway = world.gateway().await;
    answer_snapshot(&mut gateway).await;
    answer_snapshot(&mut gateway).await;
    gateway.output(SESSION, 1, b"after").await;
    gateway.read_by_hub().await;
    let mut back = world.browser(SESSION, Mode::ReadOnly, Some(0)).await;
    let gap = back.json_of("gap").await;
    assert_eq!(
        (gap["from_seq"].as_u64(), gap["to_seq"].as_u64()),
        (Some(0), Some(2))
    );
    answer_snapshot(&mut gateway).await;
    back.json_of("session.snapshot").await;
}
