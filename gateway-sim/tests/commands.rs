//! Commands besides sessions (SSH keys, agents, workspace), refused commands, and raw texts.

pub mod common;

use chatcode_core::protocol::{
    AgentsInstall, Command, Event, FileCancel, SshAuthorize, SshKey, SshRevoke,
};
use chatcode_gateway_sim::{GatewaySim, SimError};
use common::{FakeHub, Got, HubConn, query};
use serde_json::json;

/// Made with `ssh-keygen -t ed25519`; `ssh-keygen -lf` printed the fingerprint.
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMV57bZ5WLTEuOCEpJ5WzWqn4EjHIPJUqGyhCLLpC+kK test@sim";
const FINGERPRINT: &str = "SHA256:Zxt/loA8yrz714LWI3n44xrJxdoeURDZNR5Wp45u/gY";

/// Sends `command`, checks its `ack`, and returns the typed answer with the same request id.
async fn answer(conn: &mut HubConn, command: Command) -> Event {
    let rid = command.request_id().to_string();
    let ack = conn.request(&command).await;
    assert!(ack.ok, "{ack:?}");
    conn.event_where(|e| !matches!(e, Event::Ack(_)) && e.request_id() == Some(rid.as_str()))
        .await
}

async fn keys(conn: &mut HubConn, command: Command) -> Vec<SshKey> {
    match answer(conn, command).await {
        Event::SshKeys(keys) => keys.keys,
        other => panic!("not ssh.keys: {other:?}"),
    }
}

#[tokio::test]
async fn ssh_keys_authorize_list_revoke() {
    let mut hub = FakeHub::start().await;
    let sim = GatewaySim::start(hub.config());
    let mut conn = hub.accept().await;

    let rid = conn.rid();
    assert!(
        keys(&mut conn, Command::SshList(query(&rid)))
            .await
            .is_empty()
    );

    let authorize = |rid: String, public_key: &str| {
        Command::SshAuthorize(SshAuthorize {
            request_id: rid,
            public_key: public_key.into(),
            label: "laptop".into(),
            expires_at: Some("2999-01-01T00:00:00Z".into()),
        })
    };
    let rid = conn.rid();
    let listed = keys(&mut conn, authorize(rid, KEY)).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].fingerprint, FINGERPRINT);
    assert_eq!(listed[0].algorithm, "ssh-ed25519");
    assert_eq!(listed[0].label, "laptop");
    assert!(chatcode_core::time::parse_rfc3339_ms(&listed[0].added_at).is_some());

    let rid = conn.rid();
    let bad = conn
        .request(&authorize(rid, "ssh-ed25519 bm90IGEga2V5"))
        .await;
    assert!(!bad.ok && bad.error.is_some());

    let rid = conn.rid();
    let revoke = |rid: String| {
        Command::SshRevoke(SshRevoke {
            request_id: rid,
            fingerprint: FINGERPRINT.into(),
        })
    };
    assert!(keys(&mut conn, revoke(rid)).await.is_empty());
    let rid = conn.rid();
    assert!(!conn.request(&revoke(rid)).await.ok, "already revoked");
    sim.stop().await;
}

#[tokio::test]
async fn agents_and_workspace() {
    let mut hub = FakeHub::start().await;
    let sim = GatewaySim::start(hub.config());
    let mut conn = hub.accept().await;

    let install = |rid: String, agent: &str| {
        Command::AgentsInstall(AgentsInstall {
            request_id: rid,
            agent: agent.into(),
        })
    };
    let rid = conn.rid();
    let Event::AgentInstalled(installed) = answer(&mut conn, install(rid, "codex")).await else {
        panic!("not agent.installed");
    };
    assert_eq!(installed.agent, "codex");
    assert!(installed.version.is_some());
    let rid = conn.rid();
    let unknown = conn.request(&install(rid, "vim")).await;
    assert!(!unknown.ok);

    let rid = conn.rid();
    let Event::AgentsStatus(status) = answer(&mut conn, Command::AgentsList(query(&rid))).await
    else {
        panic!("not agents.status");
    };
    let installed = |name: &str| {
        status
            .agents
            .iter()
            .find(|a| a["name"] == name)
            .map(|a| a["installed"].clone())
    };
    assert_eq!(installed("claude-code"), Some(json!(true)));
    assert_eq!(installed("codex"), Some(json!(true)));
    assert_eq!(installed("gemini"), Some(json!(false)));

    conn.create("ses-ws", "/home/chatcode/workspace/app").await;
    let rid = conn.rid();
    let Event::WorkspaceFolders(folders) =
        answer(&mut conn, Command::WorkspaceList(query(&rid))).await
    else {
        panic!("not workspace.folders");
    };
    assert_eq!(
        folders.folders,
        [json!({"name": "app", "path": "/home/chatcode/workspace/app"})]
    );
    sim.stop().await;
}

#[tokio::test]
async fn refused_commands_get_a_negative_ack() {
    let mut hub = FakeHub::start().await;
    let sim = GatewaySim::start(hub.config());
    let mut conn = hub.accept().await;

    conn.send_text(r#"{"type":"session.fly","schema_version":"1","request_id":"r-unknown"}"#)
        .await;
    let (ack, _) = conn.until_ack("r-unknown").await;
    assert!(!ack.ok);
    assert!(ack.error.is_some_and(|e| e.contains("unknown command")));

    conn.send_text(
        r#"{"type":"session.resize","schema_version":"1","request_id":"r-zero","session_id":"s","cols":0,"rows":5}"#,
    )
    .await;
    let (ack, _) = conn.until_ack("r-zero").await;
    assert!(!ack.ok);
    assert!(ack.error.is_some_and(|e| e.contains("session.resize")));

    conn.send_text("{ not json").await;
    conn.send_text(r#"{"type":"session.input","schema_version":"1","request_id":"r-none","session_id":"ses-none","data":"aGk="}"#)
        .await;
    let (ack, before) = conn.until_ack("r-none").await;
    assert_eq!(
        (ack.ok, ack.error.as_deref()),
        (false, Some("session ses-none not found"))
    );
    assert!(
        before
            .iter()
            .all(|g| !matches!(g, Got::Event(Event::Ack(_)))),
        "broken JSON has no request id to answer: {before:?}"
    );

    let rid = conn.rid();
    let cancel = Command::FileCancel(FileCancel {
        request_id: rid,
        transfer_id: "t-1".into(),
    });
    let ack = conn.request(&cancel).await;
    assert!(!ack.ok && ack.error.is_some());
    assert!(sim.is_connected(), "refusals never close the socket");
    sim.stop().await;
}

#[tokio::test]
async fn raw_texts_reach_the_hub_as_is() {
    let mut hub = FakeHub::start().await;
    let sim = GatewaySim::start(hub.config());
    let mut conn = hub.accept().await;
    assert!(matches!(
        conn.recv().await,
        Got::Event(Event::GatewayHello(_))
    ));
    sim.wait_connected(common::WAIT).await.expect("connected");

    sim.send_raw_text(r#"{"type":"gateway.future","schema_version":"1","x":1}"#)
        .await
        .expect("sent");
    assert_eq!(conn.recv().await, Got::Unknown("gateway.future".into()));

    let other = r#"{"type":"gateway.hello","schema_version":"1","gateway_id":"gw-other","version":"v9","hostname":"h","system_info":{"os":"linux","arch":"amd64","cpus":1,"ram_total_bytes":1,"disk_total_bytes":1}}"#;
    sim.send_raw_text(other).await.expect("sent");
    let Got::Event(Event::GatewayHello(hello)) = conn.recv().await else {
        panic!("not a hello");
    };
    assert_eq!(hello.gateway_id, "gw-other");

    sim.stop().await;
}

#[tokio::test]
async fn raw_texts_need_a_connection() {
    let hub = FakeHub::start().await;
    let mut config = hub.config();
    config.token = "refused".into();
    let sim = GatewaySim::start(config);
    assert_eq!(sim.send_raw_text("{}").await, Err(SimError::NotConnected));
    assert!(!sim.disconnect().await);
    sim.stop().await;
}
