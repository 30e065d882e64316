//! Browser attach tickets: short-lived, signed grants to one terminal session.
//!
//! The app, which knows the user and who owns what, signs a ticket; the hub verifies it with the
//! same secret and no database. A ticket is `base64url(JSON) "." base64url(MAC)` (unpadded),
//! where MAC is HMAC-SHA256 keyed by the secret over a domain label plus the first part, so a
//! MAC made for anything else under the same secret never passes as a ticket.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::token::hmac_sha256;

/// Longest lifetime a ticket may have: 60 s.
pub const MAX_TICKET_LIFETIME_MS: i64 = 60_000;
/// Longest ticket string [`verify`] reads; anything longer is [`TicketError::Malformed`].
pub const MAX_TICKET_LEN: usize = 2048;
/// Bytes of the MAC.
const MAC_BYTES: usize = 32;
/// Prefix of the MAC input, separating tickets from other MACs under the same secret.
const DOMAIN: &[u8] = b"chatcode.attach-ticket.v1\0";

/// What the holder may do in the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Mode {
    /// `rw`: watch and type.
    #[serde(rename = "rw")]
    ReadWrite,
    /// `ro`: watch only; no input, no resize.
    #[serde(rename = "ro")]
    ReadOnly,
}

impl Mode {
    /// Whether the holder may send input and resize.
    pub const fn can_write(self) -> bool {
        matches!(self, Mode::ReadWrite)
    }
}

/// Who a ticket is issued to: a user, in one of their sign-ins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The user.
    pub user_id: String,
    /// The sign-in ([`crate::login::login_ref`]), so signing out revokes its terminals only.
    pub login: String,
}

impl Holder {
    /// `user_id` signed in as `login`.
    pub fn new(user_id: impl Into<String>, login: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            login: login.into(),
        }
    }
}

/// A grant for one user to attach to one session of one gateway until `expires_at_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachTicket {
    /// The user it was issued to.
    pub user_id: String,
    /// The sign-in it was issued in ([`crate::login::login_ref`]).
    pub login: String,
    /// The gateway holding the session.
    pub gateway_id: String,
    /// The VPS the gateway runs on (the `:id` of `/vps/:id/terminal`).
    pub vps_id: String,
    /// The only session the holder may touch.
    pub session_id: String,
    /// Read-write or read-only.
    pub mode: Mode,
    /// Unix ms after which the ticket is refused.
    pub expires_at_ms: i64,
}

/// Why a ticket was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// Not of the ticket form (or longer than [`MAX_TICKET_LEN`]).
    #[error("attach ticket is malformed")]
    Malformed,
    /// The MAC does not match: forged, altered, or signed with another secret.
    #[error("attach ticket signature does not match")]
    BadSignature,
    /// Past its expiry.
    #[error("attach ticket has expired")]
    Expired,
    /// Expires more than [`MAX_TICKET_LIFETIME_MS`] after now: not a ticket this side issues.
    #[error("attach ticket lives too long")]
    TooLong,
}

impl AttachTicket {
    /// A ticket for `holder` expiring `lifetime_ms` after `now_ms`, the lifetime clamped to
    /// `0..=MAX_TICKET_LIFETIME_MS`.
    pub fn new(
        holder: Holder,
        gateway_id: impl Into<String>,
        vps_id: impl Into<String>,
        session_id: impl Into<String>,
        mode: Mode,
        now_ms: i64,
        lifetime_ms: i64,
    ) -> Self {
        let lifetime = lifetime_ms.clamp(0, MAX_TICKET_LIFETIME_MS);
        AttachTicket {
            user_id: holder.user_id,
            login: holder.login,
            gateway_id: gateway_id.into(),
            vps_id: vps_id.into(),
            session_id: session_id.into(),
            mode,
            expires_at_ms: now_ms.saturating_add(lifetime),
        }
    }

    /// Whether the ticket is over at `now_ms`.
    pub fn is_expired(&self, now_ms: i64) -> bool {
        now_ms >= self.expires_at_ms
    }
}

/// The signed ticket string, URL-safe (`[A-Za-z0-9_-]` and one `.`).
pub fn sign(ticket: &AttachTicket, secret: &str) -> String {
    // A struct of strings, an enum and an integer always serializes.
    let json = serde_json::to_vec(ticket).expect("attach tickets always serialize");
    let payload = URL_SAFE_NO_PAD.encode(json);
    let mac = URL_SAFE_NO_PAD.encode(mac(secret, &payload));
    format!("{payload}.{mac}")
}

/// The ticket in `token` if `secret` signed it and it is live at `now_ms`.
///
/// The MAC is checked (in constant time) before the payload is decoded. An empty `secret`
/// never verifies, so a missing configuration value cannot admit anyone.
pub fn verify(token: &str, secret: &str, now_ms: i64) -> Result<AttachTicket, TicketError> {
    if token.len() > MAX_TICKET_LEN {
        return Err(TicketError::Malformed);
    }
    let (payload, tag) = token.split_once('.').ok_or(TicketError::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| TicketError::Malformed)?;
    if payload.is_empty() || tag.len() != MAC_BYTES {
        return Err(TicketError::Malformed);
    }
    if secret.is_empty() || !bool::from(mac(secret, payload).ct_eq(tag.as_slice())) {
        return Err(TicketError::BadSignature);
    }
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TicketError::Malformed)?;
    let ticket: AttachTicket = serde_json::from_slice(&json).map_err(|_| TicketError::Malformed)?;
    if ticket.is_expired(now_ms) {
        return Err(TicketError::Expired);
    }
    if ticket.expires_at_ms.saturating_sub(now_ms) > MAX_TICKET_LIFETIME_MS {
        return Err(TicketError::TooLong);
    }
    Ok(ticket)
}

fn mac(secret: &str, payload: &str) -> [u8; MAC_BYTES] {
    let mut message = Vec::with_capacity(DOMAIN.len() + payload.len());
    message.extend_from_slice(DOMAIN);
    message.extend_from_slice(payload.as_bytes());
    hmac_sha256(secret.as_bytes(), &message)
}

/// The WebSocket URL a browser opens with `ticket`: absolute (`ws`/`wss`) on the hub's public
/// URL when there is one, else a path on the app's own origin. A client resumes by appending
/// `&last_seq=N`.
pub fn terminal_url(
    hub_public_url: Option<&str>,
    vps_id: &str,
    session_id: &str,
    ticket: &str,
) -> String {
    let path = format!("/vps/{vps_id}/terminal?session_id={session_id}&ticket={ticket}");
    let Some(base) = hub_public_url.map(|u| u.trim_end_matches('/')) else {
        return path;
    };
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    format!("{base}{path}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn terminal_urls_are_websockets_on_the_hub() {
        assert_eq!(
            super::terminal_url(Some("https://hub.example/"), "vps-1", "ses-1", "t.k"),
            "wss://hub.example/vps/vps-1/terminal?session_id=ses-1&ticket=t.k"
        );
        assert_eq!(
            super::terminal_url(Some("http://127.0.0.1:3000"), "vps-1", "ses-1", "t"),
            "ws://127.0.0.1:3000/vps/vps-1/terminal?session_id=ses-1&ticket=t"
        );
        assert_eq!(
            super::terminal_url(None, "vps-1", "ses-1", "t"),
            "/vps/vps-1/terminal?session_id=ses-1&ticket=t"
        );
    }

    use super::*;

    const SECRET: &str = "hub-secret";
    const NOW: i64 = 1_750_000_000_000;

    fn holder() -> Holder {
        Holder::new("u", "l")
    }

    fn ticket(mode: Mode) -> AttachTicket {
        AttachTicket::new(
            Holder::new(
                "usr-V1StGXR8_Z5jdHi6B-myT",
                "0123456789abcdef0123456789abcdef",
            ),
            "gw-V1StGXR8_Z5jdHi6B-myT",
            "vps-V1StGXR8_Z5jdHi6B-myT",
            "ses-V1StGXR8_Z5jdHi6B-myT",
            mode,
            NOW,
            30_000,
        )
    }

    #[test]
    fn round_trip_both_modes() {
        for mode in [Mode::ReadWrite, Mode::ReadOnly] {
            let t = ticket(mode);
            let signed = sign(&t, SECRET);
            assert_eq!(verify(&signed, SECRET, NOW), Ok(t.clone()));
            assert_eq!(verify(&signed, SECRET, NOW + 29_999), Ok(t));
        }
        assert!(Mode::ReadWrite.can_write());
        assert!(!Mode::ReadOnly.can_write());
    }

    #[test]
    fn token_is_url_safe_and_compact() {
        let signed = sign(&ticket(Mode::ReadWrite), SECRET);
        assert!(signed.len() < 512, "{}", signed.len());
        assert_eq!(signed.matches('.').count(), 1);
        assert!(
            signed
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')),
            "{signed}"
        );
    }

    #[test]
    fn payload_names_mode_as_rw_or_ro() {
        let signed = sign(&ticket(Mode::ReadOnly), SECRET);
        let payload = signed.split('.').next().unwrap_or_default();
        let json = URL_SAFE_NO_PAD.decode(payload).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap_or_default();
        assert_eq!(value["mode"], "ro");
        assert_eq!(value["login"], "0123456789abcdef0123456789abcdef");
        assert_eq!(value["expires_at_ms"], NOW + 30_000);
    }

    #[test]
    fn every_altered_byte_is_refused() {
        let signed = sign(&ticket(Mode::ReadOnly), SECRET);
        let bytes = signed.as_bytes();
        for i in 0..bytes.len() {
            for replacement in [b'A', b'z', b'-', b'.', b'0'] {
                if bytes[i] == replacement {
                    continue;
                }
                let mut altered = bytes.to_vec();
                altered[i] = replacement;
                let altered = String::from_utf8(altered).unwrap_or_default();
                let result = verify(&altered, SECRET, NOW);
                assert!(
                    matches!(
                        result,
                        Err(TicketError::BadSignature | TicketError::Malformed)
                    ),
                    "byte {i} -> {replacement}: {result:?}"
                );
            }
        }
    }

    #[test]
    fn truncated_or_extended_is_refused() {
        let signed = sign(&ticket(Mode::ReadWrite), SECRET);
        for end in 0..signed.len() {
            assert!(verify(&signed[..end], SECRET, NOW).is_err(), "{end}");
        }
        assert!(verify(&format!("{signed}A"), SECRET, NOW).is_err());
        assert!(verify(&format!("{signed}.x"), SECRET, NOW).is_err());
        assert!(verify(&format!("A{signed}"), SECRET, NOW).is_err());
    }

    #[test]
    fn wrong_or_empty_secret_is_refused() {
        let signed = sign(&ticket(Mode::ReadWrite), SECRET);
        assert_eq!(
            verify(&signed, "other-secret", NOW),
            Err(TicketError::BadSignature)
        );
        assert_eq!(verify(&signed, "", NOW), Err(TicketError::BadSignature));
        let unkeyed = sign(&ticket(Mode::ReadWrite), "");
        assert_eq!(verify(&unkeyed, "", NOW), Err(TicketError::BadSignature));
    }

    #[test]
    fn expiry() {
        let t = ticket(Mode::ReadWrite);
        let signed = sign(&t, SECRET);
        assert_eq!(
            verify(&signed, SECRET, t.expires_at_ms),
            Err(TicketError::Expired)
        );
        assert_eq!(
            verify(&signed, SECRET, t.expires_at_ms + 1),
            Err(TicketError::Expired)
        );
        assert!(verify(&signed, SECRET, t.expires_at_ms - 1).is_ok());
    }

    #[test]
    fn lifetime_is_clamped_and_long_ones_refused() {
        let t = AttachTicket::new(holder(), "g", "v", "s", Mode::ReadWrite, NOW, 10 * 60_000);
        assert_eq!(t.expires_at_ms, NOW + MAX_TICKET_LIFETIME_MS);
        assert!(verify(&sign(&t, SECRET), SECRET, NOW).is_ok());

        let t = AttachTicket::new(holder(), "g", "v", "s", Mode::ReadWrite, NOW, -5);
        assert_eq!(t.expires_at_ms, NOW);
        assert_eq!(
            verify(&sign(&t, SECRET), SECRET, NOW),
            Err(TicketError::Expired)
        );

        // Signed with the right secret but by something that ignored the clamp.
        let mut long = ticket(Mode::ReadWrite);
        long.expires_at_ms = NOW + MAX_TICKET_LIFETIME_MS + 1;
        assert_eq!(
            verify(&sign(&long, SECRET), SECRET, NOW),
            Err(TicketError::TooLong)
        );
        long.expires_at_ms = i64::MAX;
        assert_eq!(
            verify(&sign(&long, SECRET), SECRET, i64::MIN),
            Err(TicketError::TooLong)
        );

        let far = AttachTicket::new(
            holder(),
            "g",
            "v",
            "s",
            Mode::ReadOnly,
            i64::MAX - 5,
            60_000,
        );
        assert_eq!(far.expires_at_ms, i64::MAX);
    }

    #[test]
    fn signed_garbage_payloads_are_malformed() {
        for payload in [
            "",
            "not base64!",
            "bm90IGpzb24",
            "e30",
            "eyJ1c2VyX2lkIjoxfQ",
        ] {
            let mac = URL_SAFE_NO_PAD.encode(mac(SECRET, payload));
            let result = verify(&format!("{payload}.{mac}"), SECRET, NOW);
            assert_eq!(result, Err(TicketError::Malformed), "{payload}");
        }
    }

    #[test]
    fn oversized_input_is_malformed() {
        let huge = "A".repeat(MAX_TICKET_LEN + 1);
        assert_eq!(verify(&huge, SECRET, NOW), Err(TicketError::Malformed));
        let huge = format!("{}.{}", "A".repeat(MAX_TICKET_LEN), "B".repeat(43));
        assert_eq!(verify(&huge, SECRET, NOW), Err(TicketError::Malformed));
    }

    #[test]
    fn garbage_never_panics() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"AZaz09-_.=+/ \xff";
        for _ in 0..5_000 {
            let len = (next() % 200) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let text = String::from_utf8_lossy(&bytes);
            assert!(verify(&text, SECRET, NOW).is_err());
        }
    }
}
