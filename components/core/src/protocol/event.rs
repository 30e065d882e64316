//! Events a gateway sends to the control plane (`protocol/events/*.json`).
//!
//! Receiving is tolerant: unknown fields are ignored (a newer gateway may add some), a `null`
//! list counts as empty (Go marshals a nil slice as `null`), and an unknown `type` is
//! [`Incoming::Unknown`], to be logged and ignored.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{
    Body, ProtocolError, clip, decode_data, is_valid_gateway_id, is_valid_request_id,
    is_valid_session_id, message_enum, open_text,
};
use crate::time::parse_rfc3339_ms;

message_enum! {
    /// An event from a gateway.
    pub enum Event {
        /// Answer to any command.
        Ack(Ack) = "ack",
        /// First message after connecting.
        GatewayHello(GatewayHello) = "gateway.hello",
        /// Periodic health report.
        GatewayHealth(GatewayHealth) = "gateway.health",
        /// A `session.create` succeeded.
        SessionStarted(SessionStarted) = "session.started",
        /// A session's process exited.
        SessionEnded(SessionEnded) = "session.ended",
        /// A session failed.
        SessionError(SessionError) = "session.error",
        /// A session's full screen.
        SessionSnapshot(SessionSnapshot) = "session.snapshot",
        /// Answer to `ssh.list`.
        SshKeys(SshKeys) = "ssh.keys",
        /// Start of a downloaded file.
        FileContentBegin(FileContentBegin) = "file.content.begin",
        /// One chunk of a downloaded file.
        FileContentChunk(FileContentChunk) = "file.content.chunk",
        /// End of a downloaded file.
        FileContentEnd(FileContentEnd) = "file.content.end",
        /// Answer to `agents.install`.
        AgentInstalled(AgentInstalled) = "agent.installed",
        /// Answer to `agents.list`.
        AgentsStatus(AgentsStatus) = "agents.status",
        /// Answer to `workspace.list`.
        WorkspaceFolders(WorkspaceFolders) = "workspace.folders",
        /// A `gateway.update` succeeded.
        GatewayUpdated(GatewayUpdated) = "gateway.updated",
        /// A `gateway.update` failed.
        GatewayUpdateFailed(GatewayUpdateFailed) = "gateway.update_failed",
    }
}

impl Event {
    /// The `request_id` of the command this event answers, if it answers one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Event::Ack(e) => Some(&e.request_id),
            Event::SessionStarted(e) => Some(&e.request_id),
            Event::SessionSnapshot(e) => e.request_id.as_deref(),
            Event::SshKeys(e) => Some(&e.request_id),
            Event::AgentInstalled(e) => Some(&e.request_id),
            Event::AgentsStatus(e) => Some(&e.request_id),
            Event::WorkspaceFolders(e) => Some(&e.request_id),
            Event::GatewayUpdated(e) => Some(&e.request_id),
            Event::GatewayUpdateFailed(e) => Some(&e.request_id),
            Event::GatewayHello(_)
            | Event::GatewayHealth(_)
            | Event::SessionEnded(_)
            | Event::SessionError(_)
            | Event::FileContentBegin(_)
            | Event::FileContentChunk(_)
            | Event::FileContentEnd(_) => None,
        }
    }

    /// The one session this event is about, for the `session.*` events.
    pub fn session_id(&self) -> Option<&str> {
        match self {
            Event::SessionStarted(e) => Some(&e.session_id),
            Event::SessionEnded(e) => Some(&e.session_id),
            Event::SessionError(e) => Some(&e.session_id),
            Event::SessionSnapshot(e) => Some(&e.session_id),
            _ => None,
        }
    }

    /// The protocol's limits beyond the types: ids of the right form, text and lists of a
    /// bounded size, timestamps in RFC 3339. An event that breaks one is refused as a whole.
    fn validate(&self) -> Result<(), &'static str> {
        if self.request_id().is_some_and(|id| !is_valid_request_id(id)) {
            return Err("request_id must be 1 to 128 bytes");
        }
        if self.session_id().is_some_and(|id| !is_valid_session_id(id)) {
            return Err("session_id must be 1 to 255 characters of [A-Za-z0-9_-]");
        }
        match self {
            Event::Ack(e) => text(e.error.as_deref(), MAX_EVENT_TEXT_CHARS, ERROR_TOO_LONG),
            Event::GatewayHello(e) => {
                gateway_id(&e.gateway_id)?;
                for value in [
                    &e.version,
                    &e.hostname,
                    &e.system_info.os,
                    &e.system_info.arch,
                ] {
                    text(Some(value), MAX_EVENT_NAME_CHARS, NAME_TOO_LONG)?;
                }
                text(e.go_version.as_deref(), MAX_EVENT_NAME_CHARS, NAME_TOO_LONG)?;
                text(
                    e.bootstrap_token.as_deref(),
                    MAX_EVENT_NAME_CHARS,
                    NAME_TOO_LONG,
                )
            }
            Event::GatewayHealth(e) => validate_health(e),
            Event::SessionError(e) => text(Some(&e.error), MAX_EVENT_TEXT_CHARS, ERROR_TOO_LONG),
            Event::SshKeys(e) => {
                list(e.keys.len(), LIST_TOO_LONG)?;
                e.keys.iter().try_for_each(|key| {
                    [&key.fingerprint, &key.label, &key.algorithm, &key.added_at]
                        .into_iter()
                        .chain(&key.expires_at)
                        .try_for_each(|value| {
                            text(Some(value), MAX_EVENT_NAME_CHARS, NAME_TOO_LONG)
                        })
                })
            }
            Event::FileContentBegin(e) => {
                transfer_id(&e.transfer_id)?;
                text(
                    Some(&e.path),
                    MAX_EVENT_TEXT_CHARS,
                    "path is longer than 4096 characters",
                )
            }
            Event::FileContentChunk(e) => {
                transfer_id(&e.transfer_id)?;
                decode_data(&e.data)
                    .map(drop)
                    .ok_or("data must be standard padded base64")
            }
            Event::FileContentEnd(e) => transfer_id(&e.transfer_id),
            Event::AgentInstalled(e) => {
                text(Some(&e.agent), MAX_EVENT_NAME_CHARS, NAME_TOO_LONG)?;
                text(e.version.as_deref(), MAX_EVENT_NAME_CHARS, NAME_TOO_LONG)
            }
            Event::AgentsStatus(e) => list(e.agents.len(), LIST_TOO_LONG),
            Event::WorkspaceFolders(e) => list(e.folders.len(), LIST_TOO_LONG),
            Event::GatewayUpdated(e) => text(Some(&e.version), MAX_EVENT_NAME_CHARS, NAME_TOO_LONG),
            Event::GatewayUpdateFailed(e) => {
                text(Some(&e.error), MAX_EVENT_TEXT_CHARS, ERROR_TOO_LONG)
            }
            Event::SessionStarted(_) | Event::SessionEnded(_) | Event::SessionSnapshot(_) => Ok(()),
        }
    }
}

/// Longest name-like text of an event (versions, hostnames, agents, key fields), in characters.
pub const MAX_EVENT_NAME_CHARS: usize = 256;
/// Longest free text of an event (errors, paths), in characters.
pub const MAX_EVENT_TEXT_CHARS: usize = 4096;
/// Most entries of an event's list (active sessions, keys, agents, folders).
pub const MAX_EVENT_LIST: usize = 1024;
/// Longest `transfer_id`, in bytes.
const MAX_TRANSFER_ID_BYTES: usize = 128;
const NAME_TOO_LONG: &str = "a name, version or key field is longer than 256 characters";
const ERROR_TOO_LONG: &str = "error is longer than 4096 characters";
const LIST_TOO_LONG: &str = "a list holds more than 1024 entries";

fn validate_health(health: &GatewayHealth) -> Result<(), &'static str> {
    gateway_id(&health.gateway_id)?;
    timestamp(&health.timestamp, "timestamp must be an RFC 3339 date-time")?;
    if health
        .cpu_percent
        .is_some_and(|p| !(p >= 0.0 && p.is_finite()))
    {
        return Err("cpu_percent must be a number >= 0");
    }
    let active = health.active_sessions.as_deref().unwrap_or_default();
    list(active.len(), LIST_TOO_LONG)?;
    active.iter().try_for_each(|session| {
        if !is_valid_session_id(&session.session_id) {
            return Err("active_sessions: session_id must be 1 to 255 characters of [A-Za-z0-9_-]");
        }
        timestamp(
            &session.last_activity_at,
            "active_sessions: last_activity_at must be an RFC 3339 date-time",
        )
    })
}

fn gateway_id(id: &str) -> Result<(), &'static str> {
    if is_valid_gateway_id(id) {
        Ok(())
    } else {
        Err("gateway_id must be 1 to 128 characters of [A-Za-z0-9_-]")
    }
}

fn transfer_id(id: &str) -> Result<(), &'static str> {
    if !id.is_empty() && id.len() <= MAX_TRANSFER_ID_BYTES {
        Ok(())
    } else {
        Err("transfer_id must be 1 to 128 bytes")
    }
}

fn timestamp(value: &str, why: &'static str) -> Result<(), &'static str> {
    parse_rfc3339_ms(value).map(drop).ok_or(why)
}

/// `value`, when present, has at most `max` characters; `why` otherwise.
fn text(value: Option<&str>, max: usize, why: &'static str) -> Result<(), &'static str> {
    match value {
        Some(v) if v.chars().nth(max).is_some() => Err(why),
        _ => Ok(()),
    }
}

/// A list of `len` entries is within [`MAX_EVENT_LIST`]; `why` otherwise.
fn list(len: usize, why: &'static str) -> Result<(), &'static str> {
    if len <= MAX_EVENT_LIST {
        Ok(())
    } else {
        Err(why)
    }
}

/// A parsed text frame from a gateway.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A known event.
    Event(Event),
    /// A well-formed envelope of a `type` this build does not know: log it and go on.
    Unknown {
        /// The `type` (cut to a loggable length).
        type_name: String,
    },
}

/// An event from a gateway's JSON text frame. Never panics.
///
/// Errors for text over [`super::MAX_TEXT_BYTES`], non-JSON, no string `type`, a
/// `schema_version` other than `"1"`, or a known type with wrong fields; a well-formed
/// envelope of an unknown type is `Ok(Incoming::Unknown)`.
pub fn parse_event(text: &str) -> Result<Incoming, ProtocolError> {
    let (type_name, fields) = open_text(text)?;
    match Event::from_body(&type_name, fields) {
        Body::Parsed(parsed) => parsed.map(Incoming::Event),
        Body::NotMine(_) => Ok(Incoming::Unknown {
            type_name: clip(&type_name),
        }),
    }
}

/// A list that may arrive as `null`, read as empty.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<Vec<T>>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// `ack`: whether a command was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The command's `request_id`.
    pub request_id: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `gateway.hello`. Its `Debug` hides `bootstrap_token`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayHello {
    /// The gateway's id.
    pub gateway_id: String,
    /// Gateway version.
    pub version: String,
    /// VPS hostname.
    pub hostname: String,
    /// Go runtime version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_version: Option<String>,
    /// One-time token from provisioning, if the gateway still holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_token: Option<String>,
    /// The machine.
    pub system_info: SystemInfo,
}

impl fmt::Debug for GatewayHello {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayHello")
            .field("gateway_id", &self.gateway_id)
            .field("version", &self.version)
            .field("hostname", &self.hostname)
            .field("go_version", &self.go_version)
            .field(
                "bootstrap_token",
                &self.bootstrap_token.as_ref().map(|_| "<redacted>"),
            )
            .field("system_info", &self.system_info)
            .finish()
    }
}

/// The machine a gateway runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// Operating system (`linux`).
    pub os: String,
    /// CPU architecture (`amd64`).
    pub arch: String,
    /// Logical CPUs.
    pub cpus: u32,
    /// Memory in bytes.
    pub ram_total_bytes: u64,
    /// Disk in bytes.
    pub disk_total_bytes: u64,
}

/// `gateway.health`, every 30 s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayHealth {
    /// The gateway's id.
    pub gateway_id: String,
    /// When the report was taken (RFC 3339).
    pub timestamp: String,
    /// CPU use in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    /// Memory in use, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ram_used_bytes: Option<u64>,
    /// Memory, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ram_total_bytes: Option<u64>,
    /// Disk in use, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_used_bytes: Option<u64>,
    /// Disk, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_total_bytes: Option<u64>,
    /// Seconds since boot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_seconds: Option<u64>,
    /// Live sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_sessions: Option<Vec<ActiveSession>>,
}

/// One live session in a health report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveSession {
    /// The session.
    pub session_id: String,
    /// Last input or output (RFC 3339).
    pub last_activity_at: String,
}

/// `session.started`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStarted {
    /// The `session.create`'s `request_id`.
    pub request_id: String,
    /// The session.
    pub session_id: String,
    /// Process id of the session's shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// `session.ended`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEnded {
    /// The session.
    pub session_id: String,
    /// Exit status, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

/// `session.error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionError {
    /// The session.
    pub session_id: String,
    /// What went wrong.
    pub error: String,
}

/// `session.snapshot` (the event): a session's full screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSnapshot {
    /// The request this answers; absent when sent unasked after a reconnect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The session.
    pub session_id: String,
    /// Screen content with ANSI escapes.
    pub content: String,
    /// Columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cols: Option<u16>,
    /// Rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u16>,
    /// Cursor column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_x: Option<u16>,
    /// Cursor row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_y: Option<u16>,
    /// Whether the cursor is shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_visible: Option<bool>,
    /// Whether the alternate screen is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_on: Option<bool>,
}

/// `ssh.keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshKeys {
    /// The `ssh.list`'s `request_id`.
    pub request_id: String,
    /// Authorized keys.
    #[serde(deserialize_with = "null_as_empty")]
    pub keys: Vec<SshKey>,
}

/// One authorized key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshKey {
    /// Key fingerprint.
    pub fingerprint: String,
    /// Human label.
    pub label: String,
    /// Key algorithm (`ssh-ed25519`).
    pub algorithm: String,
    /// When it was added (RFC 3339).
    pub added_at: String,
    /// When it expires (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// `file.content.begin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileContentBegin {
    /// The `file.download`'s transfer.
    pub transfer_id: String,
    /// Path on the VPS.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Chunks that follow.
    pub total_chunks: u64,
}

/// `file.content.chunk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileContentChunk {
    /// The transfer.
    pub transfer_id: String,
    /// Chunk index, from 0.
    pub seq: u64,
    /// The bytes, as standard base64 ([`super::decode_data`]).
    pub data: String,
}

/// `file.content.end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileContentEnd {
    /// The transfer.
    pub transfer_id: String,
}

/// `agent.installed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInstalled {
    /// The `agents.install`'s `request_id`.
    pub request_id: String,
    /// The agent.
    pub agent: String,
    /// Installed version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `agents.status`. The items' shape is the gateway's and is passed on as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentsStatus {
    /// The `agents.list`'s `request_id`.
    pub request_id: String,
    /// One entry per agent.
    #[serde(deserialize_with = "null_as_empty")]
    pub agents: Vec<Value>,
}

/// `workspace.folders`. The items' shape is the gateway's and is passed on as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceFolders {
    /// The `workspace.list`'s `request_id`.
    pub request_id: String,
    /// One entry per folder.
    #[serde(deserialize_with = "null_as_empty")]
    pub folders: Vec<Value>,
}

/// `gateway.updated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayUpdated {
    /// The `gateway.update`'s `request_id`.
    pub request_id: String,
    /// The version now running.
    pub version: String,
}

/// `gateway.update_failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayUpdateFailed {
    /// The `gateway.update`'s `request_id`.
    pub request_id: String,
    /// What went wrong.
    pub error: String,
}
