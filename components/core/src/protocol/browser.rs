//! The browser's side of the hub (`protocol/browser/*.json` and `protocol/hub/*.json`): what a
//! browser may send, and the hub's own messages to it. The browser also receives the gateway's
//! events and binary frames for its session unchanged.

use std::num::NonZeroU16;

use serde::{Deserialize, Serialize};

use super::{
    Body, Command, Event, ProtocolError, SessionAck, SessionInput, SessionResize, SnapshotRequest,
    clip, decode_data, is_valid_gateway_id, is_valid_request_id, is_valid_session_id, message_enum,
    open_text,
};

message_enum! {
    /// A message from a browser. `request_id` is optional: the hub adds one before it forwards
    /// the message to the gateway as a [`Command`].
    pub enum BrowserMessage {
        /// Type bytes (needs a read-write ticket).
        SessionInput(BrowserInput) = "session.input",
        /// Resize the terminal (needs a read-write ticket).
        SessionResize(BrowserResize) = "session.resize",
        /// Acknowledge output frames.
        SessionAck(BrowserAck) = "session.ack",
        /// Ask for a full screen snapshot.
        SessionSnapshot(BrowserSnapshot) = "session.snapshot",
        /// Keep-alive, answered with [`HubMessage::Pong`].
        Ping(Ping) = "ping",
    }
}

impl BrowserMessage {
    /// The session the message touches (all but `ping`); the hub checks it is the ticket's.
    pub fn session_id(&self) -> Option<&str> {
        match self {
            BrowserMessage::SessionInput(m) => Some(&m.session_id),
            BrowserMessage::SessionResize(m) => Some(&m.session_id),
            BrowserMessage::SessionAck(m) => Some(&m.session_id),
            BrowserMessage::SessionSnapshot(m) => Some(&m.session_id),
            BrowserMessage::Ping(_) => None,
        }
    }

    /// The `request_id` the browser chose, if any.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            BrowserMessage::SessionInput(m) => m.request_id.as_deref(),
            BrowserMessage::SessionResize(m) => m.request_id.as_deref(),
            BrowserMessage::SessionAck(m) => m.request_id.as_deref(),
            BrowserMessage::SessionSnapshot(m) => m.request_id.as_deref(),
            BrowserMessage::Ping(m) => m.request_id.as_deref(),
        }
    }

    /// Whether the message changes the session, so a read-only ticket may not send it.
    pub fn needs_write(&self) -> bool {
        matches!(
            self,
            BrowserMessage::SessionInput(_) | BrowserMessage::SessionResize(_)
        )
    }

    /// The command to forward to the gateway, with the browser's `request_id` or, when it sent
    /// none, `new_request_id()`. `None` for `ping`, which the hub answers itself.
    pub fn into_command(self, new_request_id: impl FnOnce() -> String) -> Option<Command> {
        let id = |given: Option<String>| given.unwrap_or_else(new_request_id);
        Some(match self {
            BrowserMessage::SessionInput(m) => Command::SessionInput(SessionInput {
                request_id: id(m.request_id),
                session_id: m.session_id,
                data: m.data,
            }),
            BrowserMessage::SessionResize(m) => Command::SessionResize(SessionResize {
                request_id: id(m.request_id),
                session_id: m.session_id,
                cols: m.cols,
                rows: m.rows,
            }),
            BrowserMessage::SessionAck(m) => Command::SessionAck(SessionAck {
                request_id: id(m.request_id),
                session_id: m.session_id,
                seq: m.seq,
            }),
            BrowserMessage::SessionSnapshot(m) => Command::SessionSnapshot(SnapshotRequest {
                request_id: id(m.request_id),
                session_id: m.session_id,
            }),
            BrowserMessage::Ping(_) => return None,
        })
    }

    fn validate(&self) -> Result<(), &'static str> {
        if self.request_id().is_some_and(|id| !is_valid_request_id(id)) {
            return Err("request_id must be 1 to 128 bytes");
        }
        if self.session_id().is_some_and(|id| !is_valid_session_id(id)) {
            return Err("session_id must be 1 to 255 characters of [A-Za-z0-9_-]");
        }
        match self {
            BrowserMessage::SessionInput(m) if decode_data(&m.data).is_none() => {
                Err("data must be standard padded base64")
            }
            _ => Ok(()),
        }
    }
}

/// A message from a browser's JSON text frame. Never panics.
///
/// Besides the envelope errors of [`super::parse_event`], an unknown `type` is
/// [`ProtocolError::UnknownType`], and fields the schema does not list are refused.
pub fn parse_browser_message(text: &str) -> Result<BrowserMessage, ProtocolError> {
    let (type_name, fields) = open_text(text)?;
    BrowserMessage::from_body(&type_name, fields).or_unknown(&type_name)
}

/// Browser `session.input`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserInput {
    /// Optional id; the hub adds one when missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The attached session.
    pub session_id: String,
    /// The bytes, as standard base64.
    pub data: String,
}

/// Browser `session.resize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserResize {
    /// Optional id; the hub adds one when missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The attached session.
    pub session_id: String,
    /// Columns (at least 1).
    pub cols: NonZeroU16,
    /// Rows (at least 1).
    pub rows: NonZeroU16,
}

/// Browser `session.ack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserAck {
    /// Optional id; the hub adds one when missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The attached session.
    pub session_id: String,
    /// Highest frame sequence number received.
    pub seq: u64,
}

/// Browser `session.snapshot`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserSnapshot {
    /// Optional id; the hub adds one when missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The attached session.
    pub session_id: String,
}

/// Browser `ping`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ping {
    /// Optional id, echoed by the pong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

message_enum! {
    /// A message the hub itself sends to a browser.
    pub enum HubMessage {
        /// Answer to a ping.
        Pong(Pong) = "pong",
        /// A browser message was refused or failed.
        Error(HubError) = "error",
        /// Output frames were lost; a snapshot follows.
        Gap(Gap) = "gap",
        /// The session's gateway connected, dropped or went offline.
        GatewayStatus(GatewayStatus) = "gateway.status",
    }
}

impl HubMessage {
    /// The pong answering `ping`.
    pub fn pong(ping: &Ping) -> Self {
        HubMessage::Pong(Pong {
            request_id: ping.request_id.clone(),
        })
    }

    /// An `error` with a snake_case `code` and a message safe to show.
    pub fn error(
        code: impl Into<String>,
        message: impl Into<String>,
        request_id: Option<String>,
    ) -> Self {
        HubMessage::Error(HubError {
            code: code.into(),
            message: message.into(),
            request_id,
        })
    }

    /// A `gateway.status` for `gateway_id`.
    pub fn gateway_status(gateway_id: &str, status: GatewayState) -> Self {
        HubMessage::GatewayStatus(GatewayStatus {
            gateway_id: gateway_id.to_owned(),
            status,
        })
    }

    fn validate(&self) -> Result<(), &'static str> {
        match self {
            HubMessage::Pong(Pong {
                request_id: Some(id),
            })
            | HubMessage::Error(HubError {
                request_id: Some(id),
                ..
            }) if !is_valid_request_id(id) => Err("request_id must be 1 to 128 bytes"),
            HubMessage::Error(e) if !is_error_code(&e.code) => {
                Err("code must be snake_case ([a-z][a-z0-9_]*)")
            }
            HubMessage::Gap(g) if !is_valid_session_id(&g.session_id) => {
                Err("session_id must be 1 to 255 characters of [A-Za-z0-9_-]")
            }
            HubMessage::GatewayStatus(g) if !is_valid_gateway_id(&g.gateway_id) => {
                Err("gateway_id must be 1 to 128 characters of [A-Za-z0-9_-]")
            }
            _ => Ok(()),
        }
    }
}

fn is_error_code(code: &str) -> bool {
    code.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Hub `pong`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pong {
    /// The ping's `request_id`, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Hub `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubError {
    /// Stable snake_case code, e.g. `read_only`.
    pub code: String,
    /// Human-readable explanation, safe to show.
    pub message: String,
    /// The `request_id` of the browser message this answers, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Hub `gap`: frames with `from_seq < seq < to_seq` were lost; a `session.snapshot` follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gap {
    /// The session.
    pub session_id: String,
    /// Last sequence number delivered before the gap.
    pub from_seq: u64,
    /// First sequence number delivered after the gap.
    pub to_seq: u64,
}

/// Hub `gateway.status`: the connection of the gateway a browser's session runs on, sent to
/// every browser of that gateway when it changes, and on attach while it is not connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayStatus {
    /// The gateway.
    pub gateway_id: String,
    /// Where its connection stands.
    pub status: GatewayState,
}

/// A gateway's connection as the hub sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GatewayState {
    /// Its socket is linked: input is forwarded, output flows.
    Connected,
    /// Its socket dropped; the hub waits out the reconnect grace (30 s) before it counts as
    /// offline. Snapshots follow when it is back.
    Reconnecting,
    /// It stayed away past the grace.
    Offline,
}

/// A JSON text frame a browser receives: the hub's own message or a forwarded gateway event.
#[derive(Debug, Clone, PartialEq)]
pub enum ToBrowser {
    /// `pong`, `error`, `gap` or `gateway.status`.
    Hub(HubMessage),
    /// A gateway event.
    Event(Event),
    /// A well-formed envelope of an unknown `type`.
    Unknown {
        /// The `type` (cut to a loggable length).
        type_name: String,
    },
}

/// What a browser (or a test's browser client) makes of a text frame from the hub.
pub fn parse_to_browser(text: &str) -> Result<ToBrowser, ProtocolError> {
    let (type_name, fields) = open_text(text)?;
    let fields = match HubMessage::from_body(&type_name, fields) {
        Body::Parsed(parsed) => return parsed.map(ToBrowser::Hub),
        Body::NotMine(fields) => fields,
    };
    match Event::from_body(&type_name, fields) {
        Body::Parsed(parsed) => parsed.map(ToBrowser::Event),
        Body::NotMine(_) => Ok(ToBrowser::Unknown {
            type_name: clip(&type_name),
        }),
    }
}
