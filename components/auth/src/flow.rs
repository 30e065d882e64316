//! The provider-independent half of an OAuth sign-in: starting it (state,
//! PKCE, browser cookie) and checking the callback before any code is used.
//!
//! The state lives in key-value for ten minutes under `oauth_state:<state>`,
//! is deleted on first use, and must come back with the browser's nonce cookie.

use chatcode_core::{
    ApiError, cookie,
    oauth::{self, OAuthState, Provider, StateError},
    time::now_ms,
};
use chatcode_kit::{kv, login};
use spin_sdk::http::Request;

/// A callback that passed every check: the code to exchange.
pub struct Verified {
    /// The authorization code.
    pub code: String,
    /// The PKCE verifier of this sign-in.
    pub verifier: String,
}

/// A started sign-in: where to send the browser, and its nonce cookie.
pub struct Started {
    /// The `state` parameter.
    pub state: String,
    /// The PKCE challenge.
    pub code_challenge: String,
    /// `Set-Cookie` binding the sign-in to this browser.
    pub cookie: String,
}

fn key(state: &str) -> String {
    format!("oauth_state:{state}")
}

/// Starts a sign-in with `provider` whose callback is at `callback_path`.
///
/// The browser nonce cookie is sent back only to the callback and lives as
/// long as the state. A callback that signs the browser in cannot also clear
/// it (one `Set-Cookie` per response), and need not: the state is spent.
pub fn start(provider: Provider, callback_path: &str) -> Result<Started, ApiError> {
    let started = oauth::start(provider, now_ms());
    kv::store()?
        .set_json(key(&started.state), &started.record)
        .map_err(kv::failed)?;
    let cookie = cookie::set_at(
        oauth::BROWSER_COOKIE,
        &started.browser_nonce,
        callback_path,
        oauth::STATE_TTL_MS / 1000,
        login::insecure_cookies(),
    );
    Ok(Started {
        state: started.state,
        code_challenge: started.code_challenge,
        cookie,
    })
}

/// The cookie a finished callback sets: a new session if the browser was
/// signed out, else the removal of the spent nonce.
pub fn finish_cookie(
    req: &Request,
    signed_in: bool,
    user_id: &str,
    callback_path: &str,
) -> Result<String, ApiError> {
    if signed_in {
        Ok(cookie::set_at(
            oauth::BROWSER_COOKIE,
            "",
            callback_path,
            0,
            login::insecure_cookies(),
        ))
    } else {
        login::start(user_id, req)
    }
}

/// Checks a callback for `provider`. Nothing is exchanged or stored unless it passes.
pub fn verify(
    req: &Request,
    provider: Provider,
    provider_name: &str,
) -> Result<Verified, ApiError> {
    let query = parse_query(req.query());
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let state = param("state").filter(|s| !s.is_empty());
    // Whatever happens next, a presented state is spent.
    let record = match state {
        Some(state) if oauth::is_plausible_state(state) => take(state)?,
        Some(_) => None,
        None => return Err(state_error(StateError::Missing)),
    };
    if let Some(error) = param("error") {
        let message = match error {
            "access_denied" => format!("{provider_name} sign-in was cancelled"),
            other => format!("{provider_name} refused the sign-in: {}", truncate(other)),
        };
        return Err(ApiError::bad_request(message));
    }
    let record = record.ok_or_else(|| state_error(StateError::Unknown))?;
    let nonce = req
        .header("cookie")
        .and_then(|v| v.as_str())
        .and_then(|c| cookie::value(c, oauth::BROWSER_COOKIE));
    record
        .check(provider, nonce, now_ms())
        .map_err(state_error)?;
    let code = param("code")
        .filter(|c| !c.is_empty() && c.len() <= 512)
        .ok_or_else(|| {
            ApiError::bad_request(format!("the {provider_name} response has no code"))
        })?;
    Ok(Verified {
        code: code.to_string(),
        verifier: record.verifier,
    })
}

/// Reads and deletes a stored state.
fn take(state: &str) -> Result<Option<OAuthState>, ApiError> {
    let store = kv::store()?;
    let record: Option<OAuthState> = store.get_json(key(state)).map_err(kv::failed)?;
    if record.is_some() {
        store.delete(&key(state)).map_err(kv::failed)?;
    }
    Ok(record)
}

fn state_error(e: StateError) -> ApiError {
    ApiError::bad_request(e.to_string())
}

fn truncate(s: &str) -> String {
    s.chars().take(100).collect()
}

/// Decodes `a=b&c=d` (percent and `+` decoding); malformed pairs are skipped.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                urlencoding::decode(&s.replace('+', " "))
                    .ok()
                    .map(|c| c.into_owned())
            };
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}
