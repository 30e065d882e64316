//! Commands the control plane sends to a gateway (`protocol/commands/*.json`).

use std::collections::BTreeMap;
use std::num::NonZeroU16;

use serde::{Deserialize, Serialize};

use super::{
    ProtocolError, decode_data, is_valid_request_id, is_valid_session_id, message_enum, open_text,
};

message_enum! {
    /// A command to a gateway. Each carries a unique `request_id`, echoed by the gateway's `ack`
    /// and by any typed answer.
    pub enum Command {
        /// Start a tmux session running an agent.
        SessionCreate(SessionCreate) = "session.create",
        /// Type bytes into a session.
        SessionInput(SessionInput) = "session.input",
        /// Resize a session's terminal.
        SessionResize(SessionResize) = "session.resize",
        /// End a session.
        SessionEnd(SessionEnd) = "session.end",
        /// Acknowledge output frames up to a sequence number.
        SessionAck(SessionAck) = "session.ack",
        /// Ask for a full screen snapshot.
        SessionSnapshot(SnapshotRequest) = "session.snapshot",
        /// Authorize an SSH public key.
        SshAuthorize(SshAuthorize) = "ssh.authorize",
        /// Revoke an SSH key by fingerprint.
        SshRevoke(SshRevoke) = "ssh.revoke",
        /// List authorized keys (answered by `ssh.keys`).
        SshList(Query) = "ssh.list",
        /// Start an upload.
        FileUploadBegin(FileUploadBegin) = "file.upload.begin",
        /// One chunk of an upload.
        FileUploadChunk(FileUploadChunk) = "file.upload.chunk",
        /// Finish an upload.
        FileUploadEnd(FileUploadEnd) = "file.upload.end",
        /// Cancel an upload or a download.
        FileCancel(FileCancel) = "file.cancel",
        /// Download a file (answered by `file.content.*`).
        FileDownload(FileDownload) = "file.download",
        /// Install an agent CLI (answered by `agent.installed`).
        AgentsInstall(AgentsInstall) = "agents.install",
        /// List agent CLIs (answered by `agents.status`).
        AgentsList(Query) = "agents.list",
        /// List workspace folders (answered by `workspace.folders`).
        WorkspaceList(Query) = "workspace.list",
        /// Replace the gateway binary (answered by `gateway.updated` / `gateway.update_failed`).
        GatewayUpdate(GatewayUpdate) = "gateway.update",
    }
}

impl Command {
    /// The command's `request_id`.
    pub fn request_id(&self) -> &str {
        match self {
            Command::SessionCreate(c) => &c.request_id,
            Command::SessionInput(c) => &c.request_id,
            Command::SessionResize(c) => &c.request_id,
            Command::SessionEnd(c) => &c.request_id,
            Command::SessionAck(c) => &c.request_id,
            Command::SessionSnapshot(c) => &c.request_id,
            Command::SshAuthorize(c) => &c.request_id,
            Command::SshRevoke(c) => &c.request_id,
            Command::SshList(c) | Command::AgentsList(c) | Command::WorkspaceList(c) => {
                &c.request_id
            }
            Command::FileUploadBegin(c) => &c.request_id,
            Command::FileUploadChunk(c) => &c.request_id,
            Command::FileUploadEnd(c) => &c.request_id,
            Command::FileCancel(c) => &c.request_id,
            Command::FileDownload(c) => &c.request_id,
            Command::AgentsInstall(c) => &c.request_id,
            Command::GatewayUpdate(c) => &c.request_id,
        }
    }

    /// The session the command is about, for the `session.*` commands.
    pub fn session_id(&self) -> Option<&str> {
        match self {
            Command::SessionCreate(c) => Some(&c.session_id),
            Command::SessionInput(c) => Some(&c.session_id),
            Command::SessionResize(c) => Some(&c.session_id),
            Command::SessionEnd(c) => Some(&c.session_id),
            Command::SessionAck(c) => Some(&c.session_id),
            Command::SessionSnapshot(c) => Some(&c.session_id),
            _ => None,
        }
    }

    /// The rules of `protocol/commands/*.json` that the types alone do not enforce: id syntax,
    /// non-empty names, base64 `data`, a hex `sha256`. [`parse_command`] applies it; call it
    /// before sending a command built from untrusted parts.
    pub fn validate(&self) -> Result<(), &'static str> {
        if !is_valid_request_id(self.request_id()) {
            return Err("request_id must be 1 to 128 bytes");
        }
        if self.session_id().is_some_and(|id| !is_valid_session_id(id)) {
            return Err("session_id must be 1 to 255 characters of [A-Za-z0-9_-]");
        }
        let non_empty = |value: &str, what: &'static str| {
            if value.is_empty() { Err(what) } else { Ok(()) }
        };
        match self {
            Command::SessionInput(c) => check_data(&c.data),
            Command::FileUploadChunk(c) => {
                non_empty(&c.transfer_id, "transfer_id must not be empty")?;
                check_data(&c.data)
            }
            Command::SshAuthorize(c) => non_empty(&c.public_key, "public_key must not be empty"),
            Command::SshRevoke(c) => non_empty(&c.fingerprint, "fingerprint must not be empty"),
            Command::FileUploadBegin(c) => {
                non_empty(&c.transfer_id, "transfer_id must not be empty")?;
                non_empty(&c.dest_path, "dest_path must not be empty")
            }
            Command::FileUploadEnd(FileUploadEnd { transfer_id, .. })
            | Command::FileCancel(FileCancel { transfer_id, .. }) => {
                non_empty(transfer_id, "transfer_id must not be empty")
            }
            Command::FileDownload(c) => {
                non_empty(&c.transfer_id, "transfer_id must not be empty")?;
                non_empty(&c.path, "path must not be empty")
            }
            Command::AgentsInstall(c) => non_empty(&c.agent, "agent must not be empty"),
            Command::GatewayUpdate(c) => {
                non_empty(&c.url, "url must not be empty")?;
                non_empty(&c.version, "version must not be empty")?;
                if c.sha256.len() == 64 && c.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Ok(())
                } else {
                    Err("sha256 must be 64 hex characters")
                }
            }
            _ => Ok(()),
        }
    }
}

fn check_data(data: &str) -> Result<(), &'static str> {
    match decode_data(data) {
        Some(_) => Ok(()),
        None => Err("data must be standard padded base64"),
    }
}

/// A command from a JSON text frame (what a gateway, or a fake one in tests, receives).
///
/// Unknown types are [`ProtocolError::UnknownType`]: the gateway answers those with an `ack`
/// whose `ok` is false.
pub fn parse_command(text: &str) -> Result<Command, ProtocolError> {
    let (type_name, fields) = open_text(text)?;
    Command::from_body(&type_name, fields).or_unknown(&type_name)
}

/// The agent a session runs (`session.create`'s `agent`); the gateway defaults to Claude Code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Agent {
    /// `claude-code`.
    #[default]
    ClaudeCode,
    /// `codex`.
    Codex,
    /// `gemini`.
    Gemini,
    /// `opencode`.
    Opencode,
    /// `none`: a plain shell.
    None,
}

impl Agent {
    /// Every agent.
    pub const ALL: [Agent; 5] = [
        Agent::ClaudeCode,
        Agent::Codex,
        Agent::Gemini,
        Agent::Opencode,
        Agent::None,
    ];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini",
            Agent::Opencode => "opencode",
            Agent::None => "none",
        }
    }

    /// The agent of a wire name.
    pub fn from_name(name: &str) -> Option<Agent> {
        Agent::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// Instruction files the gateway writes into a new session's workdir.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Content of `CLAUDE.md`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_md: Option<String>,
    /// Content of `AGENTS.md`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents_md: Option<String>,
}

/// `session.create`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionCreate {
    /// Unique id of this command.
    pub request_id: String,
    /// The new session's id (`ses-…`).
    pub session_id: String,
    /// Display name.
    pub name: String,
    /// Working directory on the VPS.
    pub workdir: String,
    /// Agent to start; the gateway's default is [`Agent::ClaudeCode`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
    /// Instruction files for the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_config: Option<AgentConfig>,
    /// Extra environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
}

/// `session.input`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionInput {
    /// Unique id of this command.
    pub request_id: String,
    /// Target session.
    pub session_id: String,
    /// The bytes, as standard base64 ([`super::encode_data`]).
    pub data: String,
}

/// `session.resize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionResize {
    /// Unique id of this command.
    pub request_id: String,
    /// Target session.
    pub session_id: String,
    /// Columns (at least 1).
    pub cols: NonZeroU16,
    /// Rows (at least 1).
    pub rows: NonZeroU16,
}

/// `session.end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionEnd {
    /// Unique id of this command.
    pub request_id: String,
    /// Target session.
    pub session_id: String,
}

/// `session.ack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionAck {
    /// Unique id of this command.
    pub request_id: String,
    /// Target session.
    pub session_id: String,
    /// Highest frame sequence number received.
    pub seq: u64,
}

/// `session.snapshot` (the command; the answer is [`super::SessionSnapshot`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRequest {
    /// Unique id of this command, echoed by the snapshot.
    pub request_id: String,
    /// Target session.
    pub session_id: String,
}

/// `ssh.authorize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshAuthorize {
    /// Unique id of this command.
    pub request_id: String,
    /// OpenSSH public key line.
    pub public_key: String,
    /// Human label of the key.
    pub label: String,
    /// When the key stops being authorized (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// `ssh.revoke`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshRevoke {
    /// Unique id of this command.
    pub request_id: String,
    /// Fingerprint of the key to remove.
    pub fingerprint: String,
}

/// A command with no fields but its id: `ssh.list`, `agents.list`, `workspace.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// Unique id of this command, echoed by the answer.
    pub request_id: String,
}

/// `file.upload.begin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUploadBegin {
    /// Unique id of this command.
    pub request_id: String,
    /// Transfer id chosen by the control plane.
    pub transfer_id: String,
    /// Destination path on the VPS.
    pub dest_path: String,
    /// Total size in bytes.
    pub size: u64,
    /// Number of chunks that follow.
    pub total_chunks: u64,
}

/// `file.upload.chunk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUploadChunk {
    /// Unique id of this command.
    pub request_id: String,
    /// The transfer.
    pub transfer_id: String,
    /// Chunk index, from 0.
    pub seq: u64,
    /// The bytes, as standard base64.
    pub data: String,
}

/// `file.upload.end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUploadEnd {
    /// Unique id of this command.
    pub request_id: String,
    /// The transfer.
    pub transfer_id: String,
}

/// `file.cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCancel {
    /// Unique id of this command.
    pub request_id: String,
    /// The transfer.
    pub transfer_id: String,
}

/// `file.download`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDownload {
    /// Unique id of this command.
    pub request_id: String,
    /// Transfer id chosen by the control plane, used by the `file.content.*` answers.
    pub transfer_id: String,
    /// Path on the VPS.
    pub path: String,
}

/// `agents.install`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsInstall {
    /// Unique id of this command.
    pub request_id: String,
    /// Agent name, e.g. `claude-code`.
    pub agent: String,
}

/// `gateway.update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayUpdate {
    /// Unique id of this command.
    pub request_id: String,
    /// Where to download the new binary.
    pub url: String,
    /// Hex SHA-256 of the binary.
    pub sha256: String,
    /// Version being installed.
    pub version: String,
}
