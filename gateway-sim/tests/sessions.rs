//! Sessions: create, input and output frames, resize and snapshot, end, faults, and `seq`
//! across reconnects and gateway restarts.

pub mod common;

use chatcode_core::protocol::frame::GATEWAY_PAYLOAD_BYTES;
use chatcode_core::protocol::{
    Command, Event, SessionAck, SessionEnd, SessionResize, SnapshotRequest,
};
use chatcode_gateway_sim::{DEFAULT_COLS, DEFAULT_ROWS, GatewaySim};
use common::{FakeHub, Got, HubConn, WAIT, create, query, size};

const SID: &str = "ses-V1StGXR8_Z5jdHi6B-myT";

/// Asserts the frames of `SID` on `conn` are numbered `from`, `from + 1`, …
fn assert_contiguous(conn: &HubConn, from: u64) {
    let seqs = conn.seqs(SID);
    let expected: Vec<u64> = (from..from + seqs.len() as u64).collect();
    assert_eq!(
        seqs, expected,
        "seq must go on by one, with no reset or repeat"
    );
}

#[tokio::test]
async fn create_then_type_echo() {
    let mut hub = FakeHub::start().await;
    let sim = GatewaySim::start(hub.config());
    let mut conn = hub.accept().await;
    let pid = conn.create(SID, "/home/chatcode/workspace/app").await;
    assert!(pid > 0);
    conn.output_until(SID, "$ ").await;

    conn.type_text(SID, "echo hi\r").await;
    let output = conn.output_until(SID, "hi\r\n$ ").await;
    assert_eq!(output, "$ echo hi\r\nhi\r\n$ ");
    assert_contiguous(&conn, 0);

    conn.type_text(SID, "ls\r").await;
    conn.output_until(SID, "sim: ls: command not found\r\n$ ")
        .await;
    assert_contiguous(&conn, 0);

    let info = sim.session(SID).expect("live");
    assert_eq!(info.next_seq, conn.seqs(SID).len() as u64);
    assert_eq!(
        (info.cols, info.rows, info.pid),
        (DEFAULT_COLS, DEFAULT_ROWS, pid)
    );
    sim.stop().await;
}

#[tokio::test]
async fn emitted_output_is_split_into_16_kib_frames() {
    let mut hub = FakeHub::start().await;
    let sim = GatewaySim::start(hub.config());
    let mut conn = hub.accept().await;
    conn.create(SID, "/w").await;
    conn.output_until(SID, "$ ").await;

    let big = "z".repeat(2 * GATEWAY_PAYLOAD_BYTES + 10) + "END";
    sim.emit_output(SID, big.as_bytes()).expect("live session");
    conn.output_until(SID, "END").await;
    assert_contiguous(&conn, 0);
    assert!(conn.frames.len() >= 4, "prompt + three chunks");
    assert!(sim.emit_output("ses-none", b"x").is_err());
    sim.stop().await;
}

#[tokio::test]
async fn resize_and_snapshot() {
    let mut hub = FakeHub::start().await;
    let sim = GatewaySim::start(hub.config());
    let mut conn = hub.accept().await;
    conn.create(SID, "/w").await;
    conn.type_text(SID, "echo snap\r").await;

    let rid = conn.rid();
    let resize = Command::SessionResize(SessionResize {
        request_id: rid,
        session_id: SID.into(),
        cols: size(100),
        rows: size(30),
    });
    assert!(conn.request(&resize).await.ok);
    let info = sim.session(SID).expect("live");
    assert_eq!((info.cols, info.rows), (100, 30));

    let rid = conn.rid();
    let ask = Command::SessionSnapshot(SnapshotRequest {
        request_id: rid.clone(),
        session_id: SID.into(),
    });
    assert!(conn.request(&ask).await.ok);
    let snapshot = conn
        .event_where(|e| matches!(e, Event::SessionSnapshot(_)))
        .await;
    let Event::SessionSnapshot(snapshot) = snapshot else {
        unreachable!()
    };
    assert_eq!(snapshot.request_id.as_deref(), Some(rid.as_str()));
    assert_eq!(snapshot.content, "$ echo snap\r\nsnap\r\n$");
    assert_eq!((snapshot.cols, snapshot.rows), (Some(100), Some(30)));
    assert_eq!((snapshot.cursor_x, snapshot.cursor_y), (Some(2), Some(2)));
    assert_eq!(
        (snapshot.cursor_visible, snapshot.alternate_on),
        (Some(true), Some(false))
    );
    // The output the snapshot shows was all sent as frames before it.
    assert!(conn.output(SID).ends_with("snap\r\n$ "));
    sim.stop().await;
}

#[tokio::test]
async fn end_exit_and_unknown_sessions() {
    let mut hub = FakeHub::start().await;
    let sim = GatewaySim::start(hub.config());
    let mut conn = hub.accept().await;

    conn.create("ses-a", "/w").await;
    let rid = conn.rid();
    let end = |rid: &str| {
        Command::SessionEnd(SessionEnd {
            request_id: rid.into(),
            session_id: "ses-a".into(),
        })
    };
    assert!(conn.request(&end(&rid)).await.ok);
    let ended = conn.next_event().await;
    assert!(
        matches!(&ended, Event::SessionEnded(e) if e.session_id == "ses-a" && e.exit_code == Some(0)),
        "{ended:?}"
    );
    let rid = conn.rid();
    let again = conn.request(&end(&rid)).await;
    assert!(!again.ok);
    assert_eq!(again.error.as_deref(), Some("session ses-a not found"));

    conn.create("ses-b", "/w").await;
    conn.type_text("ses-b", "exit 7\r").await;
    let ended = conn.next_event().await;
    assert!(
        matches!(&ended, Event::SessionEnded(e) if e.session_id == "ses-b" && e.exit_code == Some(7)),
        "{ended:?}"
    );
    assert!(
        conn.output("ses-b").ends_with("exit 7\r\n"),
        "output precedes the end"
    );

    conn.create("ses-c", "/w").await;
    sim.exit_session("ses-c", 3).expect("live");
    let ended = conn
        .event_where(|e| matches!(e, Event::SessionEnded(_)))
        .await;
    assert!(matches!(&ended, Event::SessionEnded(e) if e.exit_code == Some(3)));
    assert!(sim.sessions().is_empty());
    sim.stop().await;
}

#[tokio::test]
async fn duplicates_and_fault_switches() {
    let mut hub = FakeHub::start().await;
    let sim = GatewaySim::start(hub.config());
    let mut conn = hub.accept().await;
    conn.create(SID, "/w").await;

    let rid = conn.rid();
    let dup = conn.request(&create(&rid, SID, "/w")).await;
    assert!(!dup.ok && dup.error.is_some());

    sim.fail_next_create("disk full");
    let rid = conn.rid();
    let failed = conn.request(&create(&rid, "ses-2", "/w")).await;
    assert_eq!(
        (failed.ok, failed.error.as_deref()),
        (false, Some("disk full"))
    );
    assert!(sim.session("ses-2").is_none());
    conn.create("ses-2", "/w").await;

    sim.drop_next_acks(1);
    let (dropped, answered) = (conn.rid(), conn.rid());
    conn.send(&Command::SshList(query(&dropped))).await;
    conn.send(&Command::SshList(query(&answered))).await;
    let (ack, before) = conn.until_ack(&answered).await;
    assert!(ack.ok);
    assert!(
        before
            .iter()
            .all(|g| !matches!(g, Got::Event(e) if e.request_id() == Some(dropped.as_str()))),
        "the dropped command got no answer: {before:?}"
    );
    let logged: Vec<String> = sim
        .received_commands()
        .iter()
        .map(|c| c.request_id().to_string())
        .collect();
    assert!(logged.contains(&dropped) && logged.contains(&answered));

    let rid = conn.rid();
    let seen = Command::SessionAck(SessionAck {
        request_id: rid,
        session_id: SID.into(),
        seq: 0,
    });
    assert!(conn.request(&seen).await.ok);
    assert_eq!(sim.session(SID).and_then(|s| s.acked_seq), Some(0));
    sim.stop().await;
}

#[tokio::test]
async fn a_reconnect_sends_snapshots_and_seq_goes_on() {
    let mut hub = FakeHub::start().await;
    let sim = GatewaySim::start(hub.config());
    let mut conn = hub.accept().await;
    conn.create(SID, "/w").await;
    conn.type_text(SID, "echo one\r").await;
    conn.output_until(SID, "one\r\n$ ").await;
    let sent = conn.seqs(SID).len() as u64;
    assert_contiguous(&conn, 0);

    // Keep the simulator out while it prints: that output must reach the hub in the snapshot
    // only, not also as frames.
    hub.reject_next(u32::MAX);
    let dials = sim.dial_attempts();
    drop(conn);
    let refused = async {
        while sim.dial_attempts() < dials + 2 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, refused)
        .await
        .expect("the simulator redials");
    sim.emit_output(SID, b"while away\r\n").expect("live");
    hub.reject_next(0);

    let mut conn = hub.accept().await;
    assert!(matches!(
        conn.recv().await,
        Got::Event(Event::GatewayHello(_))
    ));
    let Got::Event(Event::SessionSnapshot(snapshot)) = conn.recv().await else {
        panic!("a snapshot follows the hello");
    };
    assert_eq!(snapshot.session_id, SID);
    assert_eq!(snapshot.request_id, None);
    assert!(
        snapshot.content.contains("one\r\n$ while away"),
        "{snapshot:?}"
    );
    sim.wait_connected(WAIT).await.expect("connected");

    conn.type_text(SID, "echo two\r").await;
    let output = conn.output_until(SID, "two\r\n$ ").await;
    assert!(!output.contains("while away"), "{output:?}");
    assert_contiguous(&conn, sent);
    sim.stop().await;
}

#[tokio::test]
async fn a_restart_keeps_sessions_and_their_seq() {
    let mut hub = FakeHub::start().await;
    let config = hub.config();
    let sim = GatewaySim::start(config.clone());
    let mut conn = hub.accept().await;
    let pid = conn.create(SID, "/w").await;
    conn.type_text(SID, "echo before\r").await;
    conn.output_until(SID, "before\r\n$ ").await;
    let sent = conn.seqs(SID).len() as u64;

    let state = sim.stop_keep_sessions().await;
    assert_eq!(state.session_ids(), [SID]);
    assert_eq!(conn.until_closed().await, Some(1001));

    let sim = GatewaySim::start_with(config.clone(), state);
    let mut conn = hub.accept().await;
    assert!(matches!(
        conn.recv().await,
        Got::Event(Event::GatewayHello(_))
    ));
    let Got::Event(Event::SessionSnapshot(snapshot)) = conn.recv().await else {
        panic!("a snapshot follows the hello");
    };
    assert!(snapshot.content.contains("before"));
    conn.type_text(SID, "echo after\r").await;
    conn.output_until(SID, "after\r\n$ ").await;
    assert_contiguous(&conn, sent);
    assert_eq!(sim.session(SID).map(|s| s.pid), Some(pid));

    // A plain stop loses the sessions, as a killed process would.
    sim.stop().await;
    let sim = GatewaySim::start(config);
    let mut conn = hub.accept().await;
    assert!(matches!(
        conn.recv().await,
        Got::Event(Event::GatewayHello(_))
    ));
    let rid = conn.rid();
    let (ack, before) = {
        conn.send(&Command::SshList(query(&rid))).await;
        conn.until_ack(&rid).await
    };
    assert!(ack.ok);
    assert!(
        before
            .iter()
            .all(|g| !matches!(g, Got::Event(Event::SessionSnapshot(_)))),
        "{before:?}"
    );
    assert!(sim.sessions().is_empty());
    sim.stop().await;
}
