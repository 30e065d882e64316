//! The hub's bounds, against the real app: sessions per gateway, browsers per session, sockets
//! in all, each browser's input rate, and the state it frees (ended and unwatched sessions).

mod hub_support;

use std::time::Duration;

use chatcode_core::ticket::Mode;
use hub_support::{Client, World};
use serde_json::{Value, json};

const ONE: &str = "ses-limits000000000000001";
const TWO: &str = "ses-limits000000000000002";
const THREE: &str = "ses-limits000000000000003";

async fn healthz(world: &World) -> Value {
    reqwest::get(format!("http://{}/healthz", world.hub_addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Attaches a browser; `Err` holds the status of a refused upgrade.
async fn attach(world: &World, session_id: &str) -> Result<Client, u16> {
    let ticket = world.ticket(session_id, Mode::ReadWrite);
    Client::attach(world.hub_addr, &world.vps.id, session_id, &ticket, None).await
}

/// The gateway answers a snapshot request.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_browsers_and_sockets_are_capped() {
    let world = World::with(|config| {
        config.limits.sessions_per_gateway = 2;
        config.limits.browsers_per_session = 2;
        config.limits.sockets = 4;
    })
    .await;
    let mut gateway = world.gateway().await;

    // Output of a third session is dropped and counted; the first two are kept.
    gateway.output(ONE, 0, b"one").await;
    gateway.output(TWO, 0, b"two").await;
    gateway.output(THREE, 0, b"three").await;
    let mut browser = attach(&world, ONE).await.unwrap();
    answer_snapshot(&mut gateway).await;
    browser.json_of("session.snapshot").await;
    let text = world.metrics().await;
    assert!(
        text.contains("chatcode_hub_frames_dropped_total 1\n"),
        "{text}"
    );
    assert_eq!(healthz(&world).await["sessions"], 2);
    // A browser cannot make a third one either.
    assert_eq!(attach(&world, THREE).await.err(), Some(503));

    // Two browsers per session: the third is refused.
    let _second = attach(&world, ONE).await.unwrap();
    answer_snapshot(&mut gateway).await;
    assert_eq!(attach(&world, ONE).await.err(), Some(503));

    // Four sockets in all (a gateway and three browsers): the fifth is refused.
    let _third = attach(&world, TWO).await.unwrap();
    answer_snapshot(&mut gateway).await;
    assert_eq!(attach(&world, TWO).await.err(), Some(503));
    let text = world.metrics().await;
    assert!(
        text.contains("chatcode_hub_sockets_refused_total 1\n"),
        "{text}"
    );

    // Everyone admitted is still served.
    gateway.output(ONE, 1, b"still").await;
    assert_eq!(browser.frame().await, (1, b"still".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_typing_too_fast_is_told_and_nobody_else_is() {
    let world = World::with(|config| {
        config.limits.browser_input = chatcode_hub::Rate {
            per_second: 1.0,
            burst: 2000.0,
        };
    })
    .await;
    let mut gateway = world.gateway().await;
    let mut fast = attach(&world, ONE).await.unwrap();
    answer_snapshot(&mut gateway).await;
    fast.json_of("session.snapshot").await;
    let mut other = attach(&world, TWO).await.unwrap();
    answer_snapshot(&mut gateway).await;
    other.json_of("session.snapshot").await;

    // About 1.4 KiB per message: the second is past the burst and dropped.
    let input = |n: usize| {
        json!({"type": "session.input", "schema_version": "1", "session_id": ONE,
               "request_id": format!("in-{n}"), "data": "eHh4".repeat(340)})
    };
    fast.send(input(1)).await;
    let forwarded = gateway.json_of("session.input").await;
    assert_eq!(forwarded["request_id"], "in-1");
    fast.send(input(2)).await;
    let error = fast.json_of("error").await;
    assert_eq!(error["code"], "rate_limited", "{error}");

    // The other browser types and hears nothing of it; the gateway got one input only.
    other
        .send(
            json!({"type": "session.input", "schema_version": "1", "session_id": TWO,
                     "request_id": "other-1", "data": "eA=="}),
        )
        .await;
    let forwarded = gateway.json_of("session.input").await;
    assert_eq!(forwarded["request_id"], "other-1");
    gateway
        .send(json!({"type": "ack", "schema_version": "1", "request_id": "other-1", "ok": true}))
        .await;
    assert_eq!(other.json_of("ack").await["request_id"], "other-1");
    let text = world.metrics().await;
    assert!(
        text.contains("chatcode_hub_browser_messages_limited_total 1\n"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_and_unwatched_sessions_are_freed() {
    let world = World::with(|config| {
        config.timers.session_linger = Duration::from_secs(1);
        config.timers.session_idle = Duration::from_secs(1);
        config.timers.idle_sweep = Duration::from_millis(200);
    })
    .await;
    let mut gateway = world.gateway().await;
    let mut browser = attach(&world, ONE).await.unwrap();
    answer_snapshot(&mut gateway).await;
    browser.json_of("session.snapshot").await;
    gateway.output(TWO, 0, b"nobody watches").await;
    gateway.output(ONE, 0, b"bye").await;
    gateway
        .send(
            json!({"type": "session.ended", "schema_version": "1", "session_id": ONE,
                     "exit_code": 0}),
        )
        .await;

    // The browser gets the tail and the end, then is closed with 4002 after the linger.
    assert_eq!(browser.frame().await, (0, b"bye".to_vec()));
    assert_eq!(browser.json_of("session.ended").await["exit_code"], 0);
    assert_eq!(browser.closed().await, Some(4002));

    // Both sessions are gone: the ended one, and the one nobody watched.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while healthz(&world).await["sessions"] != 0 {
        assert!(tokio::time::Instant::now() < deadline, "sessions not freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
