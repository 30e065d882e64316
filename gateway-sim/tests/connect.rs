//! Dialing, back-off, greeting, health, pings, size limits and reconnects.

pub mod common;

use std::time::Duration;

use axum::extract::ws::Message;
use chatcode_core::protocol::{Event, MAX_TEXT_BYTES};
use chatcode_core::time::parse_rfc3339_ms;
use chatcode_gateway_sim::{GatewaySim, SimError};
use common::{FakeHub, GATEWAY_ID, Got, TOKEN, WAIT};

#[tokio::test]
async fn dials_with_the_gateway_headers_and_says_hello_first() {
    let mut hub = FakeHub::start().await;
    let sim = GatewaySim::start(hub.config());
    let mut conn = hub.accept().await;

    let Got::Event(Event::GatewayHello(hello)) = conn.recv().await else {
        panic!("the first message is not gateway.hello");
    };
    assert_eq!(hello.gateway_id, GATEWAY_ID);
    assert_eq!(hello.version, "v0.1.0-sim");
    assert_eq!(hello.hostname, "sim-host");
    assert!(hello.go_version.is_some());
    assert_eq!(
        (
            hello.system_info.os.as_str(),
            hello.system_info.arch.as_str()
        ),
        ("linux", "amd64")
    );
    assert!(hello.system_info.cpus >= 1 && hello.system_info.ram_total_bytes > 0);

    let dials = hub.dials();
    assert_eq!(dials.len(), 1);
    let headers = &dials[0].headers;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    assert_eq!(
        header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(header("x-gateway-id"), Some(GATEWAY_ID));
    assert_eq!(
        header("sec-websocket-extensions"),
        None,
        "no permessage-deflate"
    );
    sim.wait_connected(WAIT).await.expect("connected");
    assert!(sim.is_connected());
    assert_eq!(sim.connections(), 1);
    sim.stop().await;
}

#[tokio::test]
async fn a_401_is_retried_with_a_doubling_back_off() {
    let mut hub = FakeHub::start().await;
    hub.reject_next(3);
    let mut config = hub.config();
    config.backoff.initial = Duration::from_millis(100);
    config.backoff.max = Duration::from_millis(300);
    let sim = GatewaySim::start(config);
    let mut conn = hub.accept().await;
    assert!(matches!(conn.next_event().await, Event::GatewayHello(_)));
    sim.wait_connected(WAIT).await.expect("connected");

    let dials = hub.dials();
    let accepted: Vec<bool> = dials.iter().map(|d| d.accepted).collect();
    assert_eq!(accepted, [false, false, false, true]);
    // The simulator sleeps at least the back-off between dials: 100, 200, then 300 (capped).
    let gaps: Vec<Duration> = dials.windows(2).map(|w| w[1].at - w[0].at).collect();
    for (gap, least) in gaps.iter().zip([100, 200, 300]) {
        assert!(*gap >= Duration::from_millis(least), "{gaps:?}");
    }
    assert_eq!(sim.dial_attempts(), 4);
    assert_eq!(sim.connections(), 1);
    sim.stop().await;
}

#[tokio::test]
async fn a_wrong_token_never_connects() {
    let hub = FakeHub::start().await;
    let mut config = hub.config();
    config.token = "wrong".into();
    let sim = GatewaySim::start(config);
    assert_eq!(
        sim.wait_connected(Duration::from_millis(500)).await,
        Err(SimError::Timeout)
    );
    let dials = hub.dials();
    assert!(!dials.is_empty() && dials.iter().all(|d| !d.accepted));
    assert_eq!(sim.connections(), 0);
    sim.stop().await;
}

#[tokio::test]
async fn a_dropped_socket_is_redialled() {
    let mut hub = FakeHub::start().await;
    let sim = GatewaySim::start(hub.config());
    let conn = hub.accept().await;
    sim.wait_connected(WAIT).await.expect("connected");
    drop(conn);

    let mut conn = hub.accept().await;
    assert!(matches!(conn.next_event().await, Event::GatewayHello(_)));
    sim.wait_connections(2, WAIT).await.expect("reconnected");

    assert!(sim.disconnect().await, "a socket was up");
    assert!(matches!(conn.recv().await, Got::Ended | Got::Closed(_)));
    let mut conn = hub.accept().await;
    assert!(matches!(conn.next_event().await, Event::GatewayHello(_)));
    sim.wait_connections(3, WAIT)
        .await
        .expect("reconnected again");
    sim.stop().await;
}

#[tokio::test]
async fn health_reports_list_active_sessions() {
    let mut hub = FakeHub::start().await;
    let mut config = hub.config();
    config.health_interval = Duration::from_millis(100);
    let sim = GatewaySim::start(config);
    let mut conn = hub.accept().await;
    conn.create("ses-health", "/home/u/app").await;

    let health = conn
        .event_where(|e| {
            matches!(e, Event::GatewayHealth(h)
                if h.active_sessions.as_ref().is_some_and(|a| !a.is_empty()))
        })
        .await;
    let Event::GatewayHealth(health) = health else {
        unreachable!()
    };
    assert_eq!(health.gateway_id, GATEWAY_ID);
    assert!(parse_rfc3339_ms(&health.timestamp).is_some());
    assert!(health.ram_total_bytes.is_some() && health.uptime_seconds.is_some());
    let active = health.active_sessions.unwrap_or_default();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].session_id, "ses-health");
    assert!(parse_rfc3339_ms(&active[0].last_activity_at).is_some());
    sim.stop().await;
}

#[tokio::test]
async fn answers_pings_and_sends_its_own() {
    let mut hub = FakeHub::start().await;
    let mut config = hub.config();
    config.ping_interval = Duration::from_millis(100);
    let sim = GatewaySim::start(config);
    let mut conn = hub.accept().await;
    conn.send_message(Message::Ping(b"hub".to_vec().into()))
        .await;
    let (mut pinged, mut ponged) = (false, false);
    while !(pinged && ponged) {
        match conn.recv().await {
            Got::Ping => pinged = true,
            Got::Pong(payload) => ponged = payload == b"hub",
            Got::Closed(_) | Got::Ended => panic!("socket gone"),
            _ => {}
        }
    }
    sim.stop().await;
}

#[tokio::test]
async fn oversized_messages_close_with_1009() {
    let mut hub = FakeHub::start().await;
    let sim = GatewaySim::start(hub.config());

    let mut conn = hub.accept().await;
    conn.send_text("x".repeat(MAX_TEXT_BYTES + 1)).await;
    assert_eq!(conn.until_closed().await, Some(1009));

    let mut conn = hub.accept().await;
    conn.send_message(Message::Binary(vec![1_u8; 70 * 1024].into()))
        .await;
    assert_eq!(conn.until_closed().await, Some(1009));

    let mut conn = hub.accept().await;
    assert!(matches!(conn.next_event().await, Event::GatewayHello(_)));
    sim.stop().await;
    assert_eq!(
        conn.until_closed().await,
        Some(1001),
        "stop says going away"
    );
}
