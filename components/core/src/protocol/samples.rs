//! One representative value of every message type, shared by the protocol tests.

use std::collections::BTreeMap;
use std::num::NonZeroU16;

use serde_json::json;

use super::*;

pub const SID: &str = "ses-V1StGXR8_Z5jdHi6B-myT";
const RID: &str = "req-1";

fn nz(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}

/// Every command, with optional fields both set and unset.
pub fn commands() -> Vec<Command> {
    let rid = || RID.to_string();
    let sid = || SID.to_string();
    vec![
        Command::SessionCreate(SessionCreate {
            request_id: rid(),
            session_id: sid(),
            name: "fix the build".into(),
            workdir: "/home/chatcode/workspace/app".into(),
            agent: Some(Agent::Codex),
            agent_config: Some(AgentConfig {
                claude_md: Some("# Rules\n".into()),
                agents_md: None,
            }),
            env: Some(BTreeMap::from([("RUST_LOG".into(), "debug".into())])),
        }),
        Command::SessionCreate(SessionCreate {
            request_id: rid(),
            session_id: sid(),
            name: "plain".into(),
            workdir: "/tmp".into(),
            agent: None,
            agent_config: None,
            env: None,
        }),
        Command::SessionInput(SessionInput {
            request_id: rid(),
            session_id: sid(),
            data: encode_data(b"ls -la\r"),
        }),
        Command::SessionResize(SessionResize {
            request_id: rid(),
            session_id: sid(),
            cols: nz(120),
            rows: nz(40),
        }),
        Command::SessionEnd(SessionEnd {
            request_id: rid(),
            session_id: sid(),
        }),
        Command::SessionAck(SessionAck {
            request_id: rid(),
            session_id: sid(),
            seq: 0,
        }),
        Command::SessionSnapshot(SnapshotRequest {
            request_id: rid(),
            session_id: sid(),
        }),
        Command::SshAuthorize(SshAuthorize {
            request_id: rid(),
            public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB me@laptop".into(),
            label: "laptop".into(),
            expires_at: Some("2026-01-01T00:00:00Z".into()),
        }),
        Command::SshRevoke(SshRevoke {
            request_id: rid(),
            fingerprint: "SHA256:abc".into(),
        }),
        Command::SshList(Query { request_id: rid() }),
        Command::FileUploadBegin(FileUploadBegin {
            request_id: rid(),
            transfer_id: "xfer-1".into(),
            dest_path: "/home/chatcode/a.txt".into(),
            size: 5,
            total_chunks: 1,
        }),
        Command::FileUploadChunk(FileUploadChunk {
            request_id: rid(),
            transfer_id: "xfer-1".into(),
            seq: 0,
            data: encode_data(b"hello"),
        }),
        Command::FileUploadEnd(FileUploadEnd {
            request_id: rid(),
            transfer_id: "xfer-1".into(),
        }),
        Command::FileCancel(FileCancel {
            request_id: rid(),
            transfer_id: "xfer-1".into(),
        }),
        Command::FileDownload(FileDownload {
            request_id: rid(),
            transfer_id: "xfer-2".into(),
            path: "/etc/hostname".into(),
        }),
        Command::AgentsInstall(AgentsInstall {
            request_id: rid(),
            agent: "gemini".into(),
        }),
        Command::AgentsList(Query { request_id: rid() }),
        Command::WorkspaceList(Query { request_id: rid() }),
        Command::GatewayUpdate(GatewayUpdate {
            request_id: rid(),
            url: "https://example.com/gateway-linux-amd64".into(),
            sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
            version: "v0.3.1".into(),
        }),
    ]
}

/// Every event, with optional fields both set and unset.
pub fn events() -> Vec<Event> {
    let rid = || RID.to_string();
    let sid = || SID.to_string();
    vec![
        Event::Ack(Ack {
            request_id: rid(),
            ok: true,
            error: None,
        }),
        Event::Ack(Ack {
            request_id: rid(),
            ok: false,
            error: Some("unknown command".into()),
        }),
        Event::GatewayHello(GatewayHello {
            gateway_id: "gw-dev".into(),
            version: "v0.3.0".into(),
            hostname: "chatcode-1".into(),
            go_version: Some("go1.22.4".into()),
            bootstrap_token: Some("boot".into()),
            system_info: SystemInfo {
                os: "linux".into(),
                arch: "amd64".into(),
                cpus: 2,
                ram_total_bytes: 4_294_967_296,
                disk_total_bytes: 85_899_345_920,
            },
        }),
        Event::GatewayHealth(GatewayHealth {
            gateway_id: "gw-dev".into(),
            timestamp: "2025-06-01T12:00:00Z".into(),
            cpu_percent: Some(12.5),
            ram_used_bytes: Some(1 << 30),
            ram_total_bytes: Some(4 << 30),
            disk_used_bytes: Some(10 << 30),
            disk_total_bytes: Some(80 << 30),
            uptime_seconds: Some(3600),
            active_sessions: Some(vec![ActiveSession {
                session_id: sid(),
                last_activity_at: "2025-06-01T11:59:30.5+02:00".into(),
            }]),
        }),
        Event::GatewayHealth(GatewayHealth {
            gateway_id: "gw-dev".into(),
            timestamp: "2025-06-01T12:00:30Z".into(),
            cpu_percent: None,
            ram_used_bytes: None,
            ram_total_bytes: None,
            disk_used_bytes: None,
            disk_total_bytes: None,
            uptime_seconds: None,
            active_sessions: None,
        }),
        Event::SessionStarted(SessionStarted {
            request_id: rid(),
            session_id: sid(),
            pid: Some(4242),
        }),
        Event::SessionEnded(SessionEnded {
            session_id: sid(),
            exit_code: Some(-1),
        }),
        Event::SessionError(SessionError {
            session_id: sid(),
            error: "tmux: no server".into(),
        }),
        Event::SessionSnapshot(SessionSnapshot {
            request_id: Some(rid()),
            session_id: sid(),
            content: "\u{1b}[1mhello\u{1b}[0m".into(),
            cols: Some(120),
            rows: Some(40),
            cursor_x: Some(5),
            cursor_y: Some(0),
            cursor_visible: Some(true),
            alternate_on: Some(false),
        }),
        Event::SessionSnapshot(SessionSnapshot {
            request_id: None,
            session_id: sid(),
            content: String::new(),
            cols: None,
            rows: None,
            cursor_x: None,
            cursor_y: None,
            cursor_visible: None,
            alternate_on: None,
        }),
        Event::SshKeys(SshKeys {
            request_id: rid(),
            keys: vec![SshKey {
                fingerprint: "SHA256:abc".into(),
                label: "laptop".into(),
                algorithm: "ssh-ed25519".into(),
                added_at: "2025-06-01T12:00:00Z".into(),
                expires_at: Some("2026-01-01T00:00:00Z".into()),
            }],
        }),
        Event::FileContentBegin(FileContentBegin {
            transfer_id: "xfer-2".into(),
            path: "/etc/hostname".into(),
            size: 11,
            total_chunks: 1,
        }),
        Event::FileContentChunk(FileContentChunk {
            transfer_id: "xfer-2".into(),
            seq: 0,
            data: encode_data(b"chatcode-1\n"),
        }),
        Event::FileContentEnd(FileContentEnd {
            transfer_id: "xfer-2".into(),
        }),
        Event::AgentInstalled(AgentInstalled {
            request_id: rid(),
            agent: "codex".into(),
            version: Some("0.1.0".into()),
        }),
        Event::AgentsStatus(AgentsStatus {
            request_id: rid(),
            agents: vec![json!({"name": "claude-code", "installed": true})],
        }),
        Event::WorkspaceFolders(WorkspaceFolders {
            request_id: rid(),
            folders: vec![json!({"name": "app", "path": "/home/chatcode/workspace/app"})],
        }),
        Event::GatewayUpdated(GatewayUpdated {
            request_id: rid(),
            version: "v0.3.1".into(),
        }),
        Event::GatewayUpdateFailed(GatewayUpdateFailed {
            request_id: rid(),
            error: "checksum mismatch".into(),
        }),
    ]
}

/// Every browser message, with and without a `request_id`.
pub fn browser_messages() -> Vec<BrowserMessage> {
    vec![
        BrowserMessage::SessionInput(BrowserInput {
            request_id: None,
            session_id: SID.into(),
            data: encode_data(b"\x1b[A"),
        }),
        BrowserMessage::SessionInput(BrowserInput {
            request_id: Some("b-1".into()),
            session_id: SID.into(),
            data: String::new(),
        }),
        BrowserMessage::SessionResize(BrowserResize {
            request_id: Some("b-2".into()),
            session_id: SID.into(),
            cols: nz(80),
            rows: nz(24),
        }),
        BrowserMessage::SessionAck(BrowserAck {
            request_id: None,
            session_id: SID.into(),
            seq: u64::MAX,
        }),
        BrowserMessage::SessionSnapshot(BrowserSnapshot {
            request_id: None,
            session_id: SID.into(),
        }),
        BrowserMessage::Ping(Ping { request_id: None }),
        BrowserMessage::Ping(Ping {
            request_id: Some("p-1".into()),
        }),
    ]
}

/// Every hub → browser message.
pub fn hub_messages() -> Vec<HubMessage> {
    vec![
        HubMessage::pong(&Ping::default()),
        HubMessage::pong(&Ping {
            request_id: Some("p-1".into()),
        }),
        HubMessage::error("read_only", "this ticket is read-only", Some("b-1".into())),
        HubMessage::error("bad_message", "not JSON", None),
        HubMessage::Gap(Gap {
            session_id: SID.into(),
            from_seq: 10,
            to_seq: 42,
        }),
        HubMessage::gateway_status("gw-1", GatewayState::Connected),
        HubMessage::gateway_status("gw-1", GatewayState::Reconnecting),
        HubMessage::gateway_status("gw_2-x", GatewayState::Offline),
    ]
}
