//! The binary terminal frame (`protocol/README.md`):
//! `kind: u8 | sid_len: u8 | session_id | seq: u64 big-endian | payload`.
//!
//! [`decode`] borrows from the input and checks every bound, so any byte string yields a frame
//! or a [`FrameError`], never a panic.

/// Bytes before the session id: `kind` and `sid_len`.
const PREFIX_BYTES: usize = 2;
/// Bytes of `seq`.
const SEQ_BYTES: usize = 8;
/// Header bytes besides the session id (`kind`, `sid_len`, `seq`).
pub const FIXED_HEADER_BYTES: usize = PREFIX_BYTES + SEQ_BYTES;
/// Longest session id: its length is one byte.
pub const MAX_SESSION_ID_BYTES: usize = 255;
/// Largest payload accepted (64 KiB); a larger frame closes the socket with 1009.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Largest payload the gateway sends (16 KiB); [`MAX_PAYLOAD_BYTES`] leaves headroom.
pub const GATEWAY_PAYLOAD_BYTES: usize = 16 * 1024;
/// Largest whole frame: the longest header plus the largest payload.
pub const MAX_FRAME_BYTES: usize = FIXED_HEADER_BYTES + MAX_SESSION_ID_BYTES + MAX_PAYLOAD_BYTES;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// `0x01`: terminal output, gateway → control plane → browser.
    Output,
    /// `0x02`: reserved for terminal input; today input travels as `session.input` JSON.
    Input,
}

impl FrameKind {
    /// The kind's byte.
    pub const fn to_byte(self) -> u8 {
        match self {
            FrameKind::Output => 0x01,
            FrameKind::Input => 0x02,
        }
    }

    /// The kind of a byte, if it names one.
    pub const fn from_byte(byte: u8) -> Option<FrameKind> {
        match byte {
            0x01 => Some(FrameKind::Output),
            0x02 => Some(FrameKind::Input),
            _ => None,
        }
    }
}

/// Why bytes are not a frame, or a frame cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer bytes than the header needs.
    #[error("frame of {len} bytes is shorter than its header")]
    TooShort {
        /// Bytes present.
        len: usize,
    },
    /// The first byte is neither 0x01 nor 0x02.
    #[error("unknown frame kind 0x{0:02x}")]
    UnknownKind(u8),
    /// `sid_len` is 0.
    #[error("frame has an empty session id")]
    EmptySessionId,
    /// The session id is longer than [`MAX_SESSION_ID_BYTES`] (encoding only).
    #[error("session id of {len} bytes exceeds {MAX_SESSION_ID_BYTES}")]
    SessionIdTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The session id bytes are not UTF-8.
    #[error("frame session id is not UTF-8")]
    SessionIdNotUtf8,
    /// The payload is larger than [`MAX_PAYLOAD_BYTES`].
    #[error("frame payload of {len} bytes exceeds {MAX_PAYLOAD_BYTES}")]
    PayloadTooLarge {
        /// Its length in bytes.
        len: usize,
    },
}

/// A decoded frame borrowing the bytes it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRef<'a> {
    /// What the frame carries.
    pub kind: FrameKind,
    /// The session, 1 to 255 bytes of UTF-8.
    pub session_id: &'a str,
    /// Per-session sequence number: from 0, +1 per frame.
    pub seq: u64,
    /// Terminal bytes, ANSI escapes included.
    pub payload: &'a [u8],
}

/// A frame that owns its parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    /// What the frame carries.
    pub kind: FrameKind,
    /// The session, 1 to 255 bytes of UTF-8.
    pub session_id: String,
    /// Per-session sequence number.
    pub seq: u64,
    /// Terminal bytes.
    pub payload: Vec<u8>,
}

impl FrameRef<'_> {
    /// Bytes of the encoded frame.
    pub fn encoded_len(&self) -> usize {
        FIXED_HEADER_BYTES + self.session_id.len() + self.payload.len()
    }

    /// The frame's bytes, after checking the limits [`decode`] enforces.
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the frame's bytes to `out`; on error `out` is unchanged.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), FrameError> {
        let sid = self.session_id.as_bytes();
        let sid_len = match u8::try_from(sid.len()) {
            Ok(0) => return Err(FrameError::EmptySessionId),
            Ok(len) => len,
            Err(_) => return Err(FrameError::SessionIdTooLong { len: sid.len() }),
        };
        if self.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(FrameError::PayloadTooLarge {
                len: self.payload.len(),
            });
        }
        out.reserve(self.encoded_len());
        out.push(self.kind.to_byte());
        out.push(sid_len);
        out.extend_from_slice(sid);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(self.payload);
        Ok(())
    }

    /// An owned copy.
    pub fn to_owned_frame(&self) -> Frame {
        Frame {
            kind: self.kind,
            session_id: self.session_id.to_string(),
            seq: self.seq,
            payload: self.payload.to_vec(),
        }
    }
}

impl Frame {
    /// A borrowed view, for encoding.
    pub fn as_frame_ref(&self) -> FrameRef<'_> {
        FrameRef {
            kind: self.kind,
            session_id: &self.session_id,
            seq: self.seq,
            payload: &self.payload,
        }
    }

    /// The frame's bytes.
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        self.as_frame_ref().encode()
    }
}

/// The bytes of an output frame: a shorthand for [`FrameRef::encode`].
pub fn encode_output(session_id: &str, seq: u64, payload: &[u8]) -> Result<Vec<u8>, FrameError> {
    FrameRef {
        kind: FrameKind::Output,
        session_id,
        seq,
        payload,
    }
    .encode()
}

/// The frame in `bytes`, borrowing from them.
pub fn decode(bytes: &[u8]) -> Result<FrameRef<'_>, FrameError> {
    let too_short = || FrameError::TooShort { len: bytes.len() };
    let [kind, sid_len, rest @ ..] = bytes else {
        return Err(too_short());
    };
    let kind = FrameKind::from_byte(*kind).ok_or(FrameError::UnknownKind(*kind))?;
    let sid_len = usize::from(*sid_len);
    if sid_len == 0 {
        return Err(FrameError::EmptySessionId);
    }
    let (sid, rest) = rest.split_at_checked(sid_len).ok_or_else(too_short)?;
    let (seq, payload) = rest
        .split_first_chunk::<SEQ_BYTES>()
        .ok_or_else(too_short)?;
    let session_id = std::str::from_utf8(sid).map_err(|_| FrameError::SessionIdNotUtf8)?;
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(FrameError::PayloadTooLarge { len: payload.len() });
    }
    Ok(FrameRef {
        kind,
        session_id,
        seq: u64::from_be_bytes(*seq),
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "ses-V1StGXR8_Z5jdHi6B-myT";

    fn output(session_id: &str, seq: u64, payload: &[u8]) -> Vec<u8> {
        encode_output(session_id, seq, payload).unwrap_or_default()
    }

    #[test]
    fn layout_is_the_documented_one() {
        let bytes = output("ab", 0x0102_0304_0506_0708, b"hi");
        assert_eq!(
            bytes,
            [1, 2, b'a', b'b', 1, 2, 3, 4, 5, 6, 7, 8, b'h', b'i'],
            "kind, sid_len, session id, big-endian seq, payload"
        );
        assert_eq!(FIXED_HEADER_BYTES, 10);
    }

    #[test]
    fn round_trip() {
        let sid_255 = "s".repeat(MAX_SESSION_ID_BYTES);
        let payload_max = vec![0xA5; MAX_PAYLOAD_BYTES];
        let cases: [(FrameKind, &str, u64, &[u8]); 5] = [
            (FrameKind::Output, SID, 0, b"\x1b[31mred\x1b[0m"),
            (FrameKind::Output, SID, u64::MAX, b""),
            (FrameKind::Input, "é", 7, b"\xff\x00"),
            (FrameKind::Output, &sid_255, 1, &payload_max),
            (FrameKind::Output, "x", 42, &[0; GATEWAY_PAYLOAD_BYTES]),
        ];
        for (kind, session_id, seq, payload) in cases {
            let frame = FrameRef {
                kind,
                session_id,
                seq,
                payload,
            };
            let bytes = frame.encode().unwrap_or_default();
            assert_eq!(bytes.len(), frame.encoded_len());
            assert!(bytes.len() <= MAX_FRAME_BYTES);
            let decoded = decode(&bytes);
            assert_eq!(decoded, Ok(frame));
            let owned = frame.to_owned_frame();
            assert_eq!(owned.encode().ok(), Some(bytes.clone()));
            assert_eq!(owned.as_frame_ref(), frame);
            // Zero copy: the decoded parts point into the input.
            let decoded = decoded.unwrap_or(frame);
            assert!(bytes.as_ptr_range().contains(&decoded.session_id.as_ptr()));
        }
    }

    #[test]
    fn encode_into_appends_or_leaves_alone() {
        let mut out = vec![9];
        let frame = FrameRef {
            kind: FrameKind::Output,
            session_id: SID,
            seq: 3,
            payload: b"x",
        };
        assert_eq!(frame.encode_into(&mut out), Ok(()));
        assert_eq!(decode(&out[1..]), Ok(frame));
        let too_big = vec![0; MAX_PAYLOAD_BYTES + 1];
        let mut out = vec![9];
        let refused = FrameRef {
            payload: &too_big,
            ..frame
        }
        .encode_into(&mut out);
        assert_eq!(
            refused,
            Err(FrameError::PayloadTooLarge {
                len: MAX_PAYLOAD_BYTES + 1
            })
        );
        assert_eq!(out, [9]);
    }

    #[test]
    fn encode_refuses_what_decode_would() {
        assert_eq!(encode_output("", 0, b""), Err(FrameError::EmptySessionId));
        assert_eq!(
            encode_output(&"s".repeat(256), 0, b""),
            Err(FrameError::SessionIdTooLong { len: 256 })
        );
        assert_eq!(
            encode_output(SID, 0, &vec![0; MAX_PAYLOAD_BYTES + 1]),
            Err(FrameError::PayloadTooLarge {
                len: MAX_PAYLOAD_BYTES + 1
            })
        );
    }

    #[test]
    fn malformed_frames() {
        let good = output("abc", 5, b"payload");
        assert_eq!(decode(&[]), Err(FrameError::TooShort { len: 0 }));
        assert_eq!(decode(&[1]), Err(FrameError::TooShort { len: 1 }));
        for kind in [0x00, 0x03, 0x7f, 0xff] {
            let mut bytes = good.clone();
            bytes[0] = kind;
            assert_eq!(decode(&bytes), Err(FrameError::UnknownKind(kind)));
        }
        assert_eq!(
            decode(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(FrameError::EmptySessionId)
        );
        // sid_len past the end.
        let mut bytes = good.clone();
        bytes[1] = 255;
        assert_eq!(
            decode(&bytes),
            Err(FrameError::TooShort { len: bytes.len() })
        );
        // Every truncation inside the header.
        for end in 0..FIXED_HEADER_BYTES + 3 {
            assert_eq!(
                decode(&good[..end]),
                Err(FrameError::TooShort { len: end }),
                "{end}"
            );
        }
        // The header alone is a frame with an empty payload.
        assert_eq!(
            decode(&good[..FIXED_HEADER_BYTES + 3]).map(|f| f.payload.len()),
            Ok(0)
        );
        let mut bytes = good.clone();
        bytes[2] = 0xff;
        assert_eq!(decode(&bytes), Err(FrameError::SessionIdNotUtf8));
        let mut bytes = good.clone();
        bytes.truncate(FIXED_HEADER_BYTES + 3);
        bytes.extend(std::iter::repeat_n(0, MAX_PAYLOAD_BYTES + 1));
        assert_eq!(
            decode(&bytes),
            Err(FrameError::PayloadTooLarge {
                len: MAX_PAYLOAD_BYTES + 1
            })
        );
    }

    #[test]
    fn kinds() {
        for kind in [FrameKind::Output, FrameKind::Input] {
            assert_eq!(FrameKind::from_byte(kind.to_byte()), Some(kind));
        }
        assert_eq!(FrameKind::Output.to_byte(), 0x01);
        assert_eq!(FrameKind::Input.to_byte(), 0x02);
        let shown = FrameError::UnknownKind(0xab).to_string();
        assert_eq!(shown, "unknown frame kind 0xab");
    }

    #[test]
    fn noise_never_panics() {
        let mut state: u64 = 0xD1B5_4A32_D192_ED03;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut decoded = 0;
        for _ in 0..50_000 {
            let len = (next() % 64) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Bias towards plausible headers so the deeper checks run too.
            if let [kind, sid_len, ..] = bytes.as_mut_slice() {
                *kind = (*kind % 4).max(1);
                *sid_len %= 40;
            }
            if let Ok(frame) = decode(&bytes) {
                decoded += 1;
                assert_eq!(frame.encode().ok(), Some(bytes));
            }
        }
        assert!(decoded > 100, "{decoded}");
    }

    #[test]
    fn truncations_of_a_real_frame_never_panic() {
        let good = output(SID, 99, &[b'x'; 300]);
        for end in 0..=good.len() {
            let decoded = decode(&good[..end]);
            if end >= FIXED_HEADER_BYTES + SID.len() {
                assert_eq!(decoded.map(|f| f.payload.len()), Ok(end - 35));
            } else {
                assert!(decoded.is_err());
            }
        }
    }
}
