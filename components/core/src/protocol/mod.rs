//! The gateway wire protocol (`PROTOCOL.md`, schemas in `protocol/` at the repository root):
//! JSON commands and events, the browser's messages, and the binary terminal frame.
//!
//! Every JSON message is an envelope `{"type": …, "schema_version": "1", …}`. The enums here
//! write that envelope on serialize and check it on parse; their variants carry plain structs
//! of the remaining fields. Parsing never panics, caps the text at [`MAX_TEXT_BYTES`], and keeps
//! error text short, so a hostile peer cannot make the hub log a megabyte.

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

mod browser;
pub mod close;
mod command;
pub mod error_code;
mod event;
pub mod frame;

pub use browser::{
    BrowserAck, BrowserInput, BrowserMessage, BrowserResize, BrowserSnapshot, Gap, GatewayState,
    GatewayStatus, HubError, HubMessage, Ping, Pong, ToBrowser, parse_browser_message,
    parse_to_browser,
};
pub use command::{
    Agent, AgentConfig, AgentsInstall, Command, FileCancel, FileDownload, FileUploadBegin,
    FileUploadChunk, FileUploadEnd, GatewayUpdate, Query, SessionAck, SessionCreate, SessionEnd,
    SessionInput, SessionResize, SnapshotRequest, SshAuthorize, SshRevoke, parse_command,
};
pub use event::{
    Ack, ActiveSession, AgentInstalled, AgentsStatus, Event, FileContentBegin, FileContentChunk,
    FileContentEnd, GatewayHealth, GatewayHello, GatewayUpdateFailed, GatewayUpdated, Incoming,
    MAX_EVENT_LIST, MAX_EVENT_NAME_CHARS, MAX_EVENT_TEXT_CHARS, SessionEnded, SessionError,
    SessionSnapshot, SessionStarted, SshKey, SshKeys, SystemInfo, WorkspaceFolders, parse_event,
};
pub use frame::{Frame, FrameError, FrameKind, FrameRef};

/// The `schema_version` of every message.
pub const SCHEMA_VERSION: &str = "1";
/// Largest JSON text frame accepted or sent (1 MiB); a larger one closes the socket with 1009.
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;
/// Longest `request_id` accepted from a browser or written into a command.
pub const MAX_REQUEST_ID_BYTES: usize = 128;
/// Longest `type` name or error reason kept in a [`ProtocolError`] or [`Incoming::Unknown`].
const MAX_ERROR_TEXT: usize = 160;

/// Why a JSON text frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The text is longer than [`MAX_TEXT_BYTES`].
    #[error("message of {len} bytes exceeds the {MAX_TEXT_BYTES}-byte limit")]
    TooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// The text is not JSON.
    #[error("message is not JSON")]
    NotJson,
    /// The JSON is not an object with a string `type`.
    #[error("message has no string \"type\"")]
    MissingType,
    /// `schema_version` is missing or is not `"1"`.
    #[error("unsupported schema_version {}", quoted_or_missing(.found))]
    WrongSchemaVersion {
        /// The value found (shortened), or `None` when absent or not a string.
        found: Option<String>,
    },
    /// A well-formed envelope whose `type` this side does not accept.
    #[error("unknown message type {type_name:?}")]
    UnknownType {
        /// The `type` (shortened).
        type_name: String,
    },
    /// A known `type` whose fields are wrong.
    #[error("invalid {type_name}: {reason}")]
    Invalid {
        /// The `type`.
        type_name: String,
        /// What is wrong (shortened).
        reason: String,
    },
}

impl ProtocolError {
    fn invalid(type_name: &str, reason: impl std::fmt::Display) -> Self {
        ProtocolError::Invalid {
            type_name: clip(type_name),
            reason: clip(&reason.to_string()),
        }
    }
}

fn quoted_or_missing(found: &Option<String>) -> String {
    found
        .as_ref()
        .map_or_else(|| "(missing)".to_string(), |v| format!("{v:?}"))
}

/// `text` cut to at most [`MAX_ERROR_TEXT`] bytes on a character boundary.
fn clip(text: &str) -> String {
    if text.len() <= MAX_ERROR_TEXT {
        return text.to_string();
    }
    let mut end = MAX_ERROR_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Standard base64 with padding, the encoding of every `data` field.
pub fn encode_data(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The bytes of a `data` field, or `None` when it is not standard padded base64.
pub fn decode_data(data: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(data).ok()
}

/// Whether `id` is a session id this side sends or accepts from a browser: 1 to 255 bytes of
/// `[A-Za-z0-9_-]`, so it also fits the frame header's one-byte length.
pub fn is_valid_session_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= frame::MAX_SESSION_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Longest gateway id (as the hub accepts it in `X-Gateway-Id`).
pub const MAX_GATEWAY_ID_BYTES: usize = 128;

/// Whether `id` is a gateway id we accept: 1–128 characters of `[A-Za-z0-9_-]`.
pub fn is_valid_gateway_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_GATEWAY_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_valid_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID_BYTES
}

/// The wire form of a message: `type`, `schema_version`, then the body's own fields.
#[derive(Serialize)]
struct Envelope<'a, T> {
    #[serde(rename = "type")]
    type_name: &'static str,
    schema_version: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

/// A message's `type` and its remaining fields, from a JSON text.
fn open_text(text: &str) -> Result<(String, Map<String, Value>), ProtocolError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(ProtocolError::TooLarge { len: text.len() });
    }
    let value: Value = serde_json::from_str(text).map_err(|_| ProtocolError::NotJson)?;
    open_value(value)
}

/// The envelope check: an object with a string `type` and `schema_version` `"1"`. Both are
/// removed, leaving the body's fields.
fn open_value(value: Value) -> Result<(String, Map<String, Value>), ProtocolError> {
    let Value::Object(mut fields) = value else {
        return Err(ProtocolError::MissingType);
    };
    let Some(Value::String(type_name)) = fields.remove("type") else {
        return Err(ProtocolError::MissingType);
    };
    match fields.remove("schema_version") {
        Some(Value::String(v)) if v == SCHEMA_VERSION => Ok((type_name, fields)),
        Some(Value::String(v)) => Err(ProtocolError::WrongSchemaVersion {
            found: Some(clip(&v)),
        }),
        _ => Err(ProtocolError::WrongSchemaVersion { found: None }),
    }
}

/// What a message enum made of an envelope.
enum Body<T> {
    /// The `type` is one of the enum's; the message, or why its fields are wrong.
    Parsed(Result<T, ProtocolError>),
    /// Not one of the enum's types: the fields, for another enum to try.
    NotMine(Map<String, Value>),
}

impl<T> Body<T> {
    /// The message, with a type not of this enum as [`ProtocolError::UnknownType`].
    fn or_unknown(self, type_name: &str) -> Result<T, ProtocolError> {
        match self {
            Body::Parsed(parsed) => parsed,
            Body::NotMine(_) => Err(ProtocolError::UnknownType {
                type_name: clip(type_name),
            }),
        }
    }
}

/// Declares a message enum whose variants each carry a body struct, tagged by `type`.
///
/// It generates the enum, `TYPES`, `type_name()`, `to_json()`, a `Serialize` that writes the
/// envelope, a `Deserialize` that checks it, and `from_body`, which the `parse_*` functions use.
/// The enum must have an inherent `fn validate(&self) -> Result<(), &'static str>` for the rules
/// serde cannot express (id syntax, base64); `from_body` applies it.
macro_rules! message_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident($body:ty) = $tag:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($body), )+
        }

        impl $name {
            /// Every `type` this enum carries, in declaration order.
            pub const TYPES: &'static [&'static str] = &[$($tag),+];

            /// The message's `type`.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $( $name::$variant(_) => $tag, )+
                }
            }

            /// This message as one JSON text frame.
            pub fn to_json(&self) -> String {
                // Bodies hold only strings, integers, booleans, finite-or-null floats and
                // string-keyed maps, none of which serde_json can fail on.
                serde_json::to_string(self).expect("protocol messages always serialize")
            }

            /// The message of `type_name` built from the envelope's remaining `fields`, or the
            /// fields back when `type_name` is not one of [`Self::TYPES`].
            pub(super) fn from_body(
                type_name: &str,
                fields: serde_json::Map<String, serde_json::Value>,
            ) -> $crate::protocol::Body<Self> {
                let parsed = match type_name {
                    $( $tag => serde_json::from_value::<$body>(serde_json::Value::Object(fields))
                        .map($name::$variant), )+
                    _ => return $crate::protocol::Body::NotMine(fields),
                };
                $crate::protocol::Body::Parsed(
                    parsed
                        .map_err(|e| $crate::protocol::ProtocolError::invalid(type_name, e))
                        .and_then(|message| match message.validate() {
                            Ok(()) => Ok(message),
                            Err(reason) => {
                                Err($crate::protocol::ProtocolError::invalid(type_name, reason))
                            }
                        }),
                )
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( $name::$variant(body) => $crate::protocol::Envelope {
                        type_name: $tag,
                        schema_version: $crate::protocol::SCHEMA_VERSION,
                        body,
                    }
                    .serialize(serializer), )+
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                use serde::de::Error as _;
                let value = serde_json::Value::deserialize(deserializer)?;
                let (type_name, fields) =
                    $crate::protocol::open_value(value).map_err(D::Error::custom)?;
                $name::from_body(&type_name, fields)
                    .or_unknown(&type_name)
                    .map_err(D::Error::custom)
            }
        }
    };
}
pub(crate) use message_enum;

#[cfg(test)]
mod refusal_tests;
#[cfg(test)]
mod samples;
#[cfg(test)]
mod schema_tests;
#[cfg(test)]
mod tests;
