//! Webhook signatures, as Stripe documents them: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`
//! where each `v1` is the lowercase hex HMAC-SHA256 of `"{t}.{raw body}"` keyed with the
//! endpoint secret as-is (`whsec_` included). Any matching `v1` passes (two while a secret is
//! rolled); other schemes (`v0`) are ignored; comparisons take constant time; a timestamp
//! more than five minutes off is refused, so a captured delivery cannot be replayed later.

use subtle::ConstantTimeEq;

use crate::{hex, token::hmac_sha256};

/// How far the timestamp may be from now, in seconds (Stripe's libraries' default).
pub const TOLERANCE_SECS: i64 = 300;

/// Why a delivery is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Stripe-Signature` header, or no `t=` in it.
    #[error("the Stripe-Signature header is missing or has no timestamp")]
    Malformed,
    /// No `v1` signature at all.
    #[error("the Stripe-Signature header has no v1 signature")]
    NoSignature,
    /// No `v1` matches the body.
    #[error("no v1 signature matches the body")]
    Mismatch,
    /// The timestamp is more than [`TOLERANCE_SECS`] from now.
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
}

/// The `v1` signature of `body` at `timestamp` with `secret`.
pub fn v1(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = Vec::with_capacity(body.len() + 24);
    message.extend_from_slice(timestamp.to_string().as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    hex::encode(&hmac_sha256(secret.as_bytes(), &message))
}

/// Checks a delivery's `Stripe-Signature` header against its raw `body` at `now` (unix
/// seconds). Returns the signed timestamp.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    now: i64,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Malformed)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let Some((scheme, value)) = part.trim().split_once('=') else {
            continue;
        };
        match scheme {
            "t" if timestamp.is_none() => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                );
            }
            "v1" => candidates.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::NoSignature);
    }
    let expected = v1(secret, timestamp, body);
    // Every candidate is compared, matching or not, so timing says nothing about which.
    let matched = candidates.iter().fold(false, |found, candidate| {
        found | bool::from(expected.as_bytes().ct_eq(candidate.as_bytes()))
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if now.abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    Ok(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_test"}"#;

    #[test]
    fn signs_like_stripes_libraries() {
        // Python: hmac.new(b"whsec_test", b'1700000000.{"id":"evt_test"}', sha256).hexdigest()
        assert_eq!(
            v1(SECRET, 1_700_000_000, BODY),
            "14c4f43763339dcb1c15f41a1ff31a94f2f09f8de278f8b4392ca0d7cbcd257e"
        );
    }

    fn header(t: i64, secrets: &[&str]) -> String {
        let mut h = format!("t={t}");
        for s in secrets {
            h.push_str(&format!(",v1={}", v1(s, t, BODY)));
        }
        h
    }

    #[test]
    fn a_fresh_matching_signature_passes() {
        let now = 1_700_000_000;
        assert_eq!(
            verify(Some(&header(now, &[SECRET])), BODY, SECRET, now + 299),
            Ok(now)
        );
        // Rolled secrets: the old one first, then the new; either secret passes.
        let rolled = header(now, &["whsec_old", SECRET]);
        assert!(verify(Some(&rolled), BODY, SECRET, now).is_ok());
        assert!(verify(Some(&rolled), BODY, "whsec_old", now).is_ok());
        // Other schemes and spaces are ignored.
        let with_v0 = format!("t={now}, v0=abc, v1={}", v1(SECRET, now, BODY));
        assert!(verify(Some(&with_v0), BODY, SECRET, now).is_ok());
    }

    #[test]
    fn everything_else_is_refused() {
        let now = 1_700_000_000;
        let good = header(now, &[SECRET]);
        assert_eq!(
            verify(Some(&good), br#"{"id":"evt_tampered"}"#, SECRET, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&good), BODY, "whsec_other", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&good), BODY, SECRET, now + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&good), BODY, SECRET, now - 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(None, BODY, SECRET, now),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("v1=abc"), BODY, SECRET, now),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("t=x,v1=abc"), BODY, SECRET, now),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some(&format!("t={now},v0=abc")), BODY, SECRET, now),
            Err(SignatureError::NoSignature)
        );
        let upper = good
            .to_uppercase()
            .replace("T=", "t=")
            .replace("V1=", "v1=");
        assert_eq!(
            verify(Some(&upper), BODY, SECRET, now),
            Err(SignatureError::Mismatch),
            "Stripe signs in lowercase hex"
        );
    }
}
