//! Secrets: random tokens, their HMAC-SHA256 hashes (the only form stored) and constant-time
//! comparison, including `Authorization: Bearer` checks for internal routes.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::hex;

/// Random bytes in a token from [`generate_token`].
pub const TOKEN_BYTES: usize = 32;

/// A new secret token: 32 random bytes as 64 lowercase hex characters.
///
/// # Panics
///
/// Only if the platform's random source fails, which leaves no safe way to mint a secret.
pub fn generate_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).expect("system random source failed");
    hex::encode(&bytes)
}

/// `n` random bytes as unpadded base64url: opaque tokens for cookies and OAuth.
///
/// # Panics
///
/// Only if the platform's random source fails, as [`generate_token`].
pub fn random_urlsafe(n: usize) -> String {
    use base64::Engine as _;
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("system random source failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// HMAC-SHA256 of `message` keyed by `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The stored form of a token: lowercase hex of HMAC-SHA256 keyed by `salt` over `token`
/// (DESIGN.md: "only HMAC-SHA256(token, gateway_token_salt) stored").
pub fn hash_token(token: &str, salt: &str) -> String {
    hex::encode(&hmac_sha256(salt.as_bytes(), token.as_bytes()))
}

/// Whether `token` hashes to `stored_hash` under `salt`, compared in constant time.
pub fn verify_token(token: &str, salt: &str, stored_hash: &str) -> bool {
    let computed = hash_token(token, salt);
    // Both are 64 hex characters when `stored_hash` is well formed; a stored value of another
    // length simply never matches (its length is not secret).
    bool::from(computed.as_bytes().ct_eq(stored_hash.as_bytes()))
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(&sha256(bytes))
}

/// The credential of an `Authorization: Bearer <token>` header value (scheme case-insensitive,
/// surrounding whitespace ignored), or `None` for any other shape.
pub fn parse_bearer(authorization: &str) -> Option<&str> {
    let value = authorization.trim();
    let (scheme, rest) = value.split_once([' ', '\t'])?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim();
    (!token.is_empty()).then_some(token)
}

/// Whether the `Authorization` header carries `Bearer <secret>`.
///
/// The comparison is between SHA-256 digests of equal length in constant time, so neither the
/// secret's content nor its length leaks through timing. An empty `secret` never matches, so a
/// missing configuration value cannot open an internal route.
pub fn bearer_matches(authorization: Option<&str>, secret: &str) -> bool {
    if secret.is_empty() {
        return false;
    }
    let Some(presented) = authorization.and_then(parse_bearer) else {
        return false;
    };
    bool::from(sha256(presented.as_bytes()).ct_eq(&sha256(secret.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_64_lowercase_hex_and_distinct() {
        let a = generate_token();
        let b = generate_token();
        assert_eq!(a.len(), 64);
        assert!(
            a.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
            "{a}"
        );
        assert_ne!(a, b);
    }

    #[test]
    fn hash_is_hmac_sha256_keyed_by_salt() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hash_token("what do ya want for nothing?", "Jefe"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_ne!(hash_token("t", "salt-a"), hash_token("t", "salt-b"));
        assert_ne!(hash_token("t1", "salt"), hash_token("t2", "salt"));
    }

    #[test]
    fn verify_round_trip() {
        let token = generate_token();
        let stored = hash_token(&token, "pepper");
        assert!(verify_token(&token, "pepper", &stored));
        assert!(!verify_token(&token, "salt", &stored));
        assert!(!verify_token("other", "pepper", &stored));
        assert!(!verify_token(&token, "pepper", &stored[..63]));
        assert!(!verify_token(&token, "pepper", ""));
        assert!(!verify_token(&token, "pepper", &stored.to_uppercase()));
    }

    #[test]
    fn sha256_known_answer() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(parse_bearer("Bearer abc"), Some("abc"));
        assert_eq!(parse_bearer("bearer abc"), Some("abc"));
        assert_eq!(parse_bearer("BEARER   abc  "), Some("abc"));
        assert_eq!(parse_bearer("  Bearer\tabc"), Some("abc"));
        assert_eq!(parse_bearer("Bearer"), None);
        assert_eq!(parse_bearer("Bearer "), None);
        assert_eq!(parse_bearer("Basic abc"), None);
        assert_eq!(parse_bearer("Bearerabc"), None);
        assert_eq!(parse_bearer("abc"), None);
        assert_eq!(parse_bearer(""), None);
    }

    #[test]
    fn bearer_matching() {
        assert!(bearer_matches(Some("Bearer s3cret"), "s3cret"));
        assert!(bearer_matches(Some("bearer s3cret"), "s3cret"));
        assert!(!bearer_matches(Some("Bearer s3cret"), "s3cre"));
        assert!(!bearer_matches(Some("Bearer s3cre"), "s3cret"));
        assert!(!bearer_matches(Some("Bearer s3cretx"), "s3cret"));
        assert!(!bearer_matches(Some("Basic s3cret"), "s3cret"));
        assert!(!bearer_matches(Some("s3cret"), "s3cret"));
        assert!(!bearer_matches(None, "s3cret"));
    }

    #[test]
    fn empty_secret_never_matches() {
        assert!(!bearer_matches(Some("Bearer "), ""));
        assert!(!bearer_matches(Some("Bearer"), ""));
        assert!(!bearer_matches(Some(""), ""));
        assert!(!bearer_matches(None, ""));
        assert!(!bearer_matches(Some("Bearer x"), ""));
    }
}
