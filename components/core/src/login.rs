//! Logins (a browser's signed-in state; not a terminal session): the opaque cookie token and
//! the record kept for it.
//!
//! The browser holds a random token in the `chatcode_session` cookie; key-value keeps
//! `session:<sha256(token)>` → [`LoginRecord`], so the token itself is never stored. Spin's
//! key-value has no TTL: an expired record counts as absent.

use serde::{Deserialize, Serialize};

use crate::{
    cookie,
    token::{random_urlsafe, sha256_hex},
};

/// The login cookie's name.
pub const COOKIE: &str = "chatcode_session";
/// How long a session lasts.
pub const TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// Activity is recorded at most this often, so reads are not all writes.
pub const TOUCH_EVERY_MS: i64 = 5 * 60 * 1000;
/// Random bytes in a session token.
const TOKEN_BYTES: usize = 32;
/// Longest cookie value accepted as a token (43 characters are issued).
const MAX_TOKEN_LEN: usize = 128;

/// What key-value keeps for a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRecord {
    /// The signed-in user.
    pub user_id: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms of the last recorded activity.
    pub last_active_at: i64,
    /// Unix ms after which the session is over.
    pub expires_at: i64,
}

impl LoginRecord {
    /// A new session for `user_id` starting at `now`.
    pub fn new(user_id: &str, now: i64) -> Self {
        Self {
            user_id: user_id.to_string(),
            created_at: now,
            last_active_at: now,
            expires_at: now + TTL_MS,
        }
    }

    /// Whether the session is over at `now`.
    pub fn is_expired(&self, now: i64) -> bool {
        now >= self.expires_at
    }

    /// Whether `last_active_at` is stale enough to be written again.
    pub fn needs_touch(&self, now: i64) -> bool {
        now - self.last_active_at >= TOUCH_EVERY_MS
    }
}

/// A new session token for the cookie.
pub fn new_token() -> String {
    random_urlsafe(TOKEN_BYTES)
}

/// SHA-256 (hex) of a token: the only form stored.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// The name an attach ticket gives the sign-in whose token hashes to `hash`: a second hash,
/// so what a browser can read never leads to the key-value key.
pub fn login_ref(hash: &str) -> String {
    sha256_hex(format!("chatcode.login-ref.v1\0{hash}").as_bytes())[..32].to_string()
}

/// The name an attach ticket gives an API key (by its id) that it was issued to, so revoking
/// the key closes the terminals opened with it. Never equal to a [`login_ref`].
pub fn api_key_ref(key_id: &str) -> String {
    sha256_hex(format!("chatcode.api-key-ref.v1\0{key_id}").as_bytes())[..32].to_string()
}

/// The key-value key for a token hash.
pub fn key_for_hash(hash: &str) -> String {
    format!("session:{hash}")
}

/// The token in a `Cookie` header, if it has a plausible one.
pub fn token_from_cookies(cookie_header: &str) -> Option<&str> {
    cookie::value(cookie_header, COOKIE)
        .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_LEN)
        .filter(|t| {
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The `Set-Cookie` value of a new login cookie.
pub fn login_cookie(token: &str, insecure: bool) -> String {
    cookie::set(COOKIE, token, TTL_MS / 1000, insecure)
}

/// The `Set-Cookie` value that removes the login cookie.
pub fn clear_login_cookie(insecure: bool) -> String {
    cookie::clear(COOKIE, insecure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_expire_and_touch_on_schedule() {
        let r = LoginRecord::new("usr-1", 0);
        assert!(!r.is_expired(TTL_MS - 1));
        assert!(r.is_expired(TTL_MS));
        assert!(!r.needs_touch(TOUCH_EVERY_MS - 1));
        assert!(r.needs_touch(TOUCH_EVERY_MS));
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_a_key() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        let key = key_for_hash(&token_hash(&a));
        assert!(key.starts_with("session:"));
        assert!(!key.contains(&a));
    }

    #[test]
    fn cookies_are_parsed_and_bounded() {
        let header = "theme=dark; chatcode_session=abc_DEF-123; other=1";
        assert_eq!(token_from_cookies(header), Some("abc_DEF-123"));
        assert_eq!(token_from_cookies("chatcode_session="), None);
        assert_eq!(token_from_cookies("chatcode_session=a b"), None);
        assert_eq!(
            token_from_cookies(&format!("chatcode_session={}", "a".repeat(200))),
            None
        );
    }

    #[test]
    fn login_cookies_have_the_login_attributes() {
        assert_eq!(
            login_cookie("t", false),
            "chatcode_session=t; HttpOnly; SameSite=Lax; Path=/; Max-Age=2592000; Secure"
        );
        assert_eq!(
            clear_login_cookie(true),
            "chatcode_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
    }
}
