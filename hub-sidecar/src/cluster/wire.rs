//! What hubs say to each other over Redis pub/sub, and its binary-safe encoding: a length-
//! prefixed JSON header, then a body of raw bytes (WebSocket messages as they are, so terminal
//! frames cross without base64).

use axum::extract::ws::{CloseFrame, Message};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

/// Most bytes one pub/sub message may hold (a batch of a browser's messages, or one JSON
/// message up to the protocol's 1 MiB, with room to spare); larger ones are dropped.
pub const MAX_ENVELOPE_BYTES: usize = 4 * 1024 * 1024;

/// Why a pub/sub message was not understood.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Shorter than its lengths say, or over [`MAX_ENVELOPE_BYTES`].
    #[error("truncated or oversized message")]
    Size,
    /// A header that is not one of [`Header`].
    #[error("malformed header: {0}")]
    Header(#[from] serde_json::Error),
    /// A body record of an unknown kind.
    #[error("unknown record kind {0}")]
    Kind(u8),
}

/// The header of a message between hubs; what the body holds depends on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Header {
    /// To a gateway's owner: a browser on hub `from` opened a terminal (bridge `bridge`) with
    /// this ticket and query. Empty body.
    Attach {
        /// The browser's hub.
        from: String,
        /// The browser's id on its hub.
        bridge: u64,
        /// The signed ticket, checked again by the owner.
        ticket: String,
        /// The session the URL names.
        session_id: String,
        /// The VPS the URL names.
        vps_id: String,
        /// The resume point, if any.
        last_seq: Option<u64>,
    },
    /// To a gateway's owner: what the browser of bridge `bridge` on hub `from` sent (records).
    ToOwner {
        /// The browser's hub.
        from: String,
        /// The browser's id on its hub.
        bridge: u64,
    },
    /// To browsers' hub: what their owner sends them (groups: each record once, with the
    /// bridges it goes to).
    ToBridges,
    /// To a gateway's owner: relay the command in the body; answer to `from` with `id`.
    Relay {
        /// The hub waiting for the answer.
        from: String,
        /// The request's id on that hub.
        id: u64,
        /// The gateway.
        gateway_id: String,
    },
    /// To a relaying hub: the HTTP status and JSON body of relay `id`.
    RelayAnswer {
        /// The request's id on this hub.
        id: u64,
        /// The status to answer with.
        status: u16,
    },
    /// Broadcast: hub `hub` now holds gateway `gateway_id` (its `n`th claim).
    Claimed {
        /// The hub.
        hub: String,
        /// The gateway.
        gateway_id: String,
        /// Claims of this gateway so far; a lower one is older.
        n: u64,
    },
    /// Broadcast: hub `from` was told of the revocation in the body (JSON): apply it too.
    Revoke {
        /// The hub the app told.
        from: String,
    },
}

/// Encodes a header and a body into one pub/sub message.
pub fn encode(header: &Header, body: &[u8]) -> Vec<u8> {
    let head = serde_json::to_vec(header).unwrap_or_default();
    let mut out = Vec::with_capacity(4 + head.len() + body.len());
    out.put_u32(u32::try_from(head.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(&head);
    out.extend_from_slice(body);
    out
}

/// Splits a pub/sub message into its header and body.
pub fn decode(payload: &[u8]) -> Result<(Header, Bytes), WireError> {
    if payload.len() > MAX_ENVELOPE_BYTES || payload.len() < 4 {
        return Err(WireError::Size);
    }
    let mut rest = payload;
    let head_len = rest.get_u32() as usize;
    if head_len > rest.len() {
        return Err(WireError::Size);
    }
    let header = serde_json::from_slice(&rest[..head_len])?;
    Ok((header, Bytes::copy_from_slice(&rest[head_len..])))
}

const TEXT: u8 = 0;
const BINARY: u8 = 1;
const PING: u8 = 2;
const CLOSE: u8 = 3;

/// Appends `message` as a record (kind, length, bytes); pongs carry nothing and are skipped.
pub fn put_record(out: &mut BytesMut, message: &Message) {
    let (kind, bytes): (u8, &[u8]) = match message {
        Message::Text(text) => (TEXT, text.as_bytes()),
        Message::Binary(bytes) => (BINARY, bytes),
        Message::Ping(bytes) => (PING, bytes),
        Message::Pong(_) => return,
        Message::Close(frame) => {
            let (code, reason) = frame
                .as_ref()
                .map_or((1000, ""), |f| (f.code, f.reason.as_str()));
            out.put_u8(CLOSE);
            out.put_u32(u32::try_from(2 + reason.len()).unwrap_or(u32::MAX));
            out.put_u16(code);
            out.extend_from_slice(reason.as_bytes());
            return;
        }
    };
    out.put_u8(kind);
    out.put_u32(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(bytes);
}

/// Appends a group: `message` as a record, for each of `bridges`.
pub fn put_group(out: &mut BytesMut, bridges: &[u64], message: &Message) {
    out.put_u32(u32::try_from(bridges.len()).unwrap_or(u32::MAX));
    for bridge in bridges {
        out.put_u64(*bridge);
    }
    put_record(out, message);
}

/// The records of a body, in order.
pub fn records(mut body: Bytes) -> Result<Vec<Message>, WireError> {
    let mut messages = Vec::new();
    while body.has_remaining() {
        messages.push(record(&mut body)?);
    }
    Ok(messages)
}

/// The groups of a body, in order: each record with the bridges it goes to.
pub fn groups(mut body: Bytes) -> Result<Vec<(Vec<u64>, Message)>, WireError> {
    let mut groups = Vec::new();
    while body.has_remaining() {
        if body.remaining() < 4 {
            return Err(WireError::Size);
        }
        let count = body.get_u32() as usize;
        if count.saturating_mul(8) > body.remaining() {
            return Err(WireError::Size);
        }
        let bridges = (0..count).map(|_| body.get_u64()).collect();
        groups.push((bridges, record(&mut body)?));
    }
    Ok(groups)
}

/// Takes one record off the front of `body`.
fn record(body: &mut Bytes) -> Result<Message, WireError> {
    if body.remaining() < 5 {
        return Err(WireError::Size);
    }
    let kind = body.get_u8();
    let len = body.get_u32() as usize;
    if len > body.remaining() {
        return Err(WireError::Size);
    }
    let bytes = body.split_to(len);
    Ok(match kind {
        TEXT => Message::Text(
            String::from_utf8(bytes.to_vec())
                .map_err(|_| WireError::Kind(kind))?
                .into(),
        ),
        BINARY => Message::Binary(bytes),
        PING => Message::Ping(bytes),
        CLOSE => {
            let mut bytes = bytes;
            if bytes.remaining() < 2 {
                return Err(WireError::Size);
            }
            let code = bytes.get_u16();
            let reason = String::from_utf8_lossy(&bytes).into_owned();
            Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            }))
        }
        other => return Err(WireError::Kind(other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_records_survive_the_trip() {
        let header = Header::ToOwner {
            from: "hub-1".into(),
            bridge: 7,
        };
        let mut body = BytesMut::new();
        let frame = vec![1u8, 0, 0xff, 0, 10];
        put_record(&mut body, &Message::Binary(frame.clone().into()));
        put_record(&mut body, &Message::Text("{\"type\":\"gap\"}".into()));
        put_record(
            &mut body,
            &Message::Close(Some(CloseFrame {
                code: 1012,
                reason: "moved".into(),
            })),
        );
        let (decoded, body) = decode(&encode(&header, &body)).unwrap();
        assert_eq!(decoded, header);
        let messages = records(body).unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[0], Message::Binary(frame.into()));
        assert_eq!(messages[1], Message::Text("{\"type\":\"gap\"}".into()));
        match &messages[2] {
            Message::Close(Some(f)) => assert_eq!((f.code, f.reason.as_str()), (1012, "moved")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn groups_carry_each_record_once_for_several_bridges() {
        let mut body = BytesMut::new();
        put_group(&mut body, &[1, 2, 3], &Message::Binary(vec![9u8; 4].into()));
        put_group(&mut body, &[2], &Message::Text("{}".into()));
        let groups = groups(body.freeze()).unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(
            groups[0],
            (vec![1, 2, 3], Message::Binary(vec![9u8; 4].into()))
        );
        assert_eq!(groups[1], (vec![2], Message::Text("{}".into())));
        let (header, _) = decode(&encode(&Header::ToBridges, &[])).unwrap();
        assert_eq!(header, Header::ToBridges);
        assert!(groups_of(&[0, 0, 0, 9, 0]).is_err());
    }

    fn groups_of(bytes: &'static [u8]) -> Result<Vec<(Vec<u64>, Message)>, WireError> {
        groups(Bytes::from_static(bytes))
    }

    #[test]
    fn truncated_messages_are_refused() {
        assert!(decode(&[0, 0, 0, 9, b'{']).is_err());
        assert!(records(Bytes::from_static(&[0, 0, 0, 0, 9, b'x'])).is_err());
        assert!(records(Bytes::from_static(&[9, 0, 0, 0, 0])).is_err());
    }
}
