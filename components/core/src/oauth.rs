//! OAuth sign-in rules: PKCE and the single-use, browser-bound `state`.
//!
//! Starting a sign-in stores an [`OAuthState`] under its random `state` for
//! ten minutes and gives the browser a nonce cookie; the callback must bring
//! back both. [`OAuthState::check`] decides, without I/O, whether it may go on.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::token::{random_urlsafe, sha256};

/// How long a started sign-in stays valid.
pub const STATE_TTL_MS: i64 = 10 * 60 * 1000;
/// Cookie that binds a sign-in to the browser that started it.
pub const BROWSER_COOKIE: &str = "chatcode_oauth";
/// Random bytes in a `state`, a browser nonce and a PKCE verifier.
const RANDOM_BYTES: usize = 32;

/// Which provider a sign-in is with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// DigitalOcean OAuth.
    Digitalocean,
    /// GitHub OAuth.
    Github,
}

/// What is stored for a started sign-in (never the browser nonce itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthState {
    /// The provider the sign-in was started with.
    pub provider: Provider,
    /// SHA-256 (hex) of the browser nonce cookie.
    pub browser_hash: String,
    /// PKCE code verifier.
    pub verifier: String,
    /// Unix milliseconds after which the state is refused.
    pub expires_at: i64,
}

/// A freshly started sign-in: what to store, what to send.
#[derive(Debug, Clone)]
pub struct StartedSignIn {
    /// The `state` parameter (and key-value key suffix).
    pub state: String,
    /// The value of the [`BROWSER_COOKIE`].
    pub browser_nonce: String,
    /// The PKCE `code_challenge` (S256).
    pub code_challenge: String,
    /// The record to store under `state`.
    pub record: OAuthState,
}

/// Why a callback was refused. Every variant answers 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The callback has no `state` parameter.
    #[error("the sign-in response has no state parameter")]
    Missing,
    /// No such sign-in: never started, already used, or forged.
    #[error("this sign-in link is unknown or was already used; start again")]
    Unknown,
    /// Started more than ten minutes ago.
    #[error("this sign-in link has expired; start again")]
    Expired,
    /// Started in another browser (or its cookie is gone).
    #[error("this sign-in was started in another browser; start again here")]
    OtherBrowser,
    /// Started with another provider.
    #[error("this sign-in was started with another provider")]
    WrongProvider,
}

/// Starts a sign-in with `provider` at `now` (unix ms).
pub fn start(provider: Provider, now: i64) -> StartedSignIn {
    let browser_nonce = random_urlsafe(RANDOM_BYTES);
    let verifier = random_urlsafe(RANDOM_BYTES);
    StartedSignIn {
        state: random_urlsafe(RANDOM_BYTES),
        code_challenge: pkce_challenge(&verifier),
        record: OAuthState {
            provider,
            browser_hash: crate::token::sha256_hex(browser_nonce.as_bytes()),
            verifier,
            expires_at: now + STATE_TTL_MS,
        },
        browser_nonce,
    }
}

/// The S256 code challenge of a PKCE verifier (RFC 7636).
pub fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()))
}

/// Whether a `state` value could be one we issued (bounded, URL-safe).
pub fn is_plausible_state(state: &str) -> bool {
    (16..=128).contains(&state.len())
        && state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl OAuthState {
    /// Decides a callback for `provider` that brought `browser_nonce` back at `now`.
    pub fn check(
        &self,
        provider: Provider,
        browser_nonce: Option<&str>,
        now: i64,
    ) -> Result<(), StateError> {
        if self.provider != provider {
            return Err(StateError::WrongProvider);
        }
        if now >= self.expires_at {
            return Err(StateError::Expired);
        }
        let presented = crate::token::sha256_hex(browser_nonce.unwrap_or_default().as_bytes());
        if browser_nonce.is_none()
            || !bool::from(presented.as_bytes().ct_eq(self.browser_hash.as_bytes()))
        {
            return Err(StateError::OtherBrowser);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_unpadded_base64url_of_sha256() {
        // Expected value computed independently with Python's hashlib.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mJ0kMXqqy_L3yr9mB6nUN3xd3W1gFk"),
            "4F8IB4xT0c072-K4YxlM_9QSqmY42FiIZK09hfMZnUQ"
        );
    }

    #[test]
    fn a_started_sign_in_checks_out_in_the_same_browser_only() {
        let s = start(Provider::Github, 1_000);
        assert!(is_plausible_state(&s.state));
        assert_eq!(s.code_challenge, pkce_challenge(&s.record.verifier));
        assert_ne!(s.record.browser_hash, s.browser_nonce);
        let r = &s.record;
        assert_eq!(
            r.check(Provider::Github, Some(&s.browser_nonce), 2_000),
            Ok(())
        );
        assert_eq!(
            r.check(Provider::Github, Some("other"), 2_000),
            Err(StateError::OtherBrowser)
        );
        assert_eq!(
            r.check(Provider::Github, None, 2_000),
            Err(StateError::OtherBrowser)
        );
        assert_eq!(
            r.check(
                Provider::Github,
                Some(&s.browser_nonce),
                1_000 + STATE_TTL_MS
            ),
            Err(StateError::Expired)
        );
        assert_eq!(
            r.check(Provider::Digitalocean, Some(&s.browser_nonce), 2_000),
            Err(StateError::WrongProvider)
        );
    }

    #[test]
    fn implausible_states_are_refused_before_any_lookup() {
        assert!(!is_plausible_state(""));
        assert!(!is_plausible_state("short"));
        assert!(!is_plausible_state(&"a".repeat(129)));
        assert!(!is_plausible_state("has space in it......"));
    }

    #[test]
    fn records_round_trip_as_json() {
        let s = start(Provider::Digitalocean, 5);
        let json = serde_json::to_string(&s.record).unwrap();
        assert!(json.contains("\"provider\":\"digitalocean\""));
        assert_eq!(serde_json::from_str::<OAuthState>(&json).unwrap(), s.record);
    }
}
