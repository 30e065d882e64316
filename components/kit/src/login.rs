//! Logins: a signed-in browser (never a terminal session). The browser holds an opaque token in
//! the `chatcode_session` cookie; key-value keeps `session:<sha256(token)>` → record and a
//! `persistent_sessions` row keeps the audit trail and lets a user sign out everywhere.
//! Expired records count as absent and are deleted when read. Who is calling, by cookie or API
//! key, is [`crate::caller`]'s question.

use chatcode_core::{
    ApiError, IdKind,
    ids::new_id,
    login::{self, LoginRecord},
    time::now_ms,
};
use spin_sdk::{http::Request, sqlite::Value};

use crate::{config, db, kv};

const SQL_INSERT: &str = "INSERT INTO persistent_sessions \
    (id, user_id, token_hash, user_agent, ip_address, created_at, expires_at, last_active_at) \
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
const SQL_TOUCH: &str = "UPDATE persistent_sessions SET last_active_at = ? WHERE token_hash = ?";
const SQL_DELETE: &str = "DELETE FROM persistent_sessions WHERE token_hash = ?";
const SQL_HASHES_OF_USER: &str = "SELECT token_hash FROM persistent_sessions WHERE user_id = ?";
const SQL_DELETE_OF_USER: &str = "DELETE FROM persistent_sessions WHERE user_id = ?";

/// Longest user agent kept for the audit trail.
const MAX_USER_AGENT: usize = 512;

/// A live login: its user and the hash of its token (which names it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// `users.id`.
    pub user_id: String,
    /// SHA-256 of the cookie's token.
    pub hash: String,
}

/// Whether cookies go without `Secure` (development only).
pub fn insecure_cookies() -> bool {
    config::is_development()
}

/// Starts a login for `user_id`; returns the `Set-Cookie` value.
pub fn start(user_id: &str, req: &Request) -> Result<String, ApiError> {
    let token = login::new_token();
    let hash = login::token_hash(&token);
    let now = now_ms();
    let record = LoginRecord::new(user_id, now);
    let user_agent = req
        .header("user-agent")
        .and_then(|v| v.as_str())
        .map(|ua| ua.chars().take(MAX_USER_AGENT).collect::<String>());
    let client = req
        .header("spin-client-addr")
        .and_then(|v| v.as_str())
        .map(client_ip);
    let conn = db::open()?;
    db::run(
        &conn,
        SQL_INSERT,
        &[
            db::t(&new_id(IdKind::Login)),
            db::t(user_id),
            db::t(&hash),
            db::opt(user_agent.as_deref()),
            db::opt(client.as_deref()),
            Value::Integer(record.created_at),
            Value::Integer(record.expires_at),
            Value::Integer(record.last_active_at),
        ],
    )?;
    kv::store()?
        .set_json(login::key_for_hash(&hash), &record)
        .map_err(kv::failed)?;
    Ok(login::login_cookie(&token, insecure_cookies()))
}

/// The login of the request's cookie, if it is live.
pub fn from_cookie(req: &Request) -> Result<Option<Login>, ApiError> {
    let Some(token) = req
        .header("cookie")
        .and_then(|v| v.as_str())
        .and_then(login::token_from_cookies)
    else {
        return Ok(None);
    };
    let hash = login::token_hash(token);
    let key = login::key_for_hash(&hash);
    let store = kv::store()?;
    let record: Option<LoginRecord> = store.get_json(&key).map_err(kv::failed)?;
    let Some(mut record) = record else {
        return Ok(None);
    };
    let now = now_ms();
    if record.is_expired(now) {
        end(&hash)?;
        return Ok(None);
    }
    if record.needs_touch(now) {
        record.last_active_at = now;
        store.set_json(&key, &record).map_err(kv::failed)?;
        let conn = db::open()?;
        db::run(&conn, SQL_TOUCH, &[Value::Integer(now), db::t(&hash)])?;
    }
    Ok(Some(Login {
        user_id: record.user_id,
        hash,
    }))
}

/// Ends one login.
pub fn end(hash: &str) -> Result<(), ApiError> {
    kv::store()?
        .delete(&login::key_for_hash(hash))
        .map_err(kv::failed)?;
    let conn = db::open()?;
    db::run(&conn, SQL_DELETE, &[db::t(hash)])?;
    Ok(())
}

/// Ends every login of `user_id`; the hashes of those it ended.
pub fn end_all(user_id: &str) -> Result<Vec<String>, ApiError> {
    let conn = db::open()?;
    let rows = db::run(&conn, SQL_HASHES_OF_USER, &[db::t(user_id)])?;
    let hashes: Vec<String> = (0..rows.rows.len())
        .filter_map(|row| db::text(&rows, row, 0))
        .collect();
    let store = kv::store()?;
    for hash in &hashes {
        store
            .delete(&login::key_for_hash(hash))
            .map_err(kv::failed)?;
    }
    db::run(&conn, SQL_DELETE_OF_USER, &[db::t(user_id)])?;
    Ok(hashes)
}

/// The `Set-Cookie` value that signs the browser out.
pub fn clear_cookie() -> String {
    login::clear_login_cookie(insecure_cookies())
}

/// The address part of `spin-client-addr` (`ip:port` or `[v6]:port`).
fn client_ip(addr: &str) -> String {
    match addr.rsplit_once(':') {
        Some((ip, _)) => ip.trim_start_matches('[').trim_end_matches(']').to_string(),
        None => addr.to_string(),
    }
}
