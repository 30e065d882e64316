//! A user's DigitalOcean credentials: the current access token, and the
//! refresh the `vps` component runs once when DigitalOcean answers 401.
//!
//! Refreshing stores the new pair in one `UPDATE` guarded by the refresh token
//! it replaced, so two concurrent refreshes cannot leave a mismatched pair: the
//! loser reads what the winner stored.

use std::time::Duration;

use chatcode_core::{ApiError, ErrorKind, time::now_ms};
use serde::Deserialize;
use spin_sdk::{
    http::{Method, Request},
    sqlite::{Connection, Value},
};

use crate::{config, db, outbound, vault};

const SQL_TOKENS: &str =
    "SELECT access_token_encrypted, refresh_token_encrypted FROM do_connections WHERE user_id = ?";
const SQL_STORE_PAIR: &str = "UPDATE do_connections SET access_token_encrypted = ?, \
    refresh_token_encrypted = ?, expires_at = ?, updated_at = ? \
    WHERE user_id = ? AND refresh_token_encrypted = ?";

/// How long DigitalOcean may take to answer a refresh.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: String,
    expires_in: i64,
}

/// The error when a user has no DigitalOcean connection (409 `do_not_connected`).
pub fn not_connected() -> ApiError {
    ApiError::do_not_connected()
}

/// The user's current access token, if DigitalOcean is connected.
pub fn access_token(conn: &Connection, user_id: &str) -> Result<Option<String>, ApiError> {
    let row = db::run(conn, SQL_TOKENS, &[db::t(user_id)])?;
    db::text(&row, 0, 0)
        .map(|sealed| vault::open(&sealed, &vault::do_access(user_id)))
        .transpose()
}

/// Exchanges the user's refresh token for a new pair, stores it, and returns
/// the new access token.
pub async fn refresh(conn: &Connection, user_id: &str) -> Result<String, ApiError> {
    let row = db::run(conn, SQL_TOKENS, &[db::t(user_id)])?;
    let sealed_refresh = db::text(&row, 0, 1).ok_or_else(not_connected)?;
    let refresh_token = vault::open(&sealed_refresh, &vault::do_refresh(user_id))?;
    let base = config::required("do_oauth_base")?;
    let body = outbound::form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &refresh_token),
        ("client_id", &config::required("do_client_id")?),
        ("client_secret", &config::required("do_client_secret")?),
    ]);
    let request = Request::builder()
        .method(Method::Post)
        .uri(format!("{}/v1/oauth/token", base.trim_end_matches('/')))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .build();
    let failed = |why: String| ApiError::new(ErrorKind::BadGateway, format!("DigitalOcean: {why}"));
    let response = outbound::send(request, TIMEOUT)
        .await
        .map_err(|e| failed(e.to_string()))?;
    match *response.status() {
        200..=299 => {}
        // DigitalOcean no longer honours the grant: the user must connect again.
        400 | 401 => {
            return Err(ApiError::new(
                ErrorKind::DoNotConnected,
                "DigitalOcean access was revoked or expired; connect DigitalOcean again",
            ));
        }
        status => return Err(failed(format!("token refresh answered HTTP {status}"))),
    }
    let answer: TokenAnswer = serde_json::from_slice(response.body()).map_err(|_| {
        failed("token refresh sent an answer that is not the documented JSON".into())
    })?;

    let cipher = vault::cipher()?;
    let now = now_ms();
    db::run(
        conn,
        SQL_STORE_PAIR,
        &[
            db::t(&cipher.seal(&answer.access_token, &vault::do_access(user_id))),
            db::t(&cipher.seal(&answer.refresh_token, &vault::do_refresh(user_id))),
            Value::Integer(now.saturating_add(answer.expires_in.saturating_mul(1000))),
            Value::Integer(now),
            db::t(user_id),
            db::t(&sealed_refresh),
        ],
    )?;
    if db::changes(conn)? == 0 {
        // Another request refreshed first: use what it stored.
        return access_token(conn, user_id)?.ok_or_else(not_connected);
    }
    Ok(answer.access_token)
}

const SQL_DELETE_CONNECTION: &str = "DELETE FROM do_connections WHERE user_id = ?";

/// Revokes the user's token at DigitalOcean (`POST /v1/oauth/revoke`), then forgets the
/// connection. False if there was none. A 401 counts as revoked: the token is unusable, which
/// is what revoking wants; any other failure is a 502 and keeps the connection. A token that
/// no longer decrypts (a changed key) cannot be sent, so it is only forgotten.
pub async fn revoke(conn: &Connection, user_id: &str) -> Result<bool, ApiError> {
    let row = db::run(conn, SQL_TOKENS, &[db::t(user_id)])?;
    let Some(sealed) = db::text(&row, 0, 0) else {
        return Ok(false);
    };
    let Ok(token) = vault::open(&sealed, &vault::do_access(user_id)) else {
        db::run(conn, SQL_DELETE_CONNECTION, &[db::t(user_id)])?;
        return Ok(true);
    };
    let base = config::required("do_oauth_base")?;
    let request = Request::builder()
        .method(Method::Post)
        .uri(format!("{}/v1/oauth/revoke", base.trim_end_matches('/')))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(outbound::form(&[("token", &token)]))
        .build();
    let failed = |why: String| ApiError::new(ErrorKind::BadGateway, format!("DigitalOcean: {why}"));
    let response = outbound::send(request, TIMEOUT)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let status = *response.status();
    if !(200..300).contains(&status) && status != 401 {
        return Err(failed(format!(
            "the revocation answered HTTP {status}; try again"
        )));
    }
    db::run(conn, SQL_DELETE_CONNECTION, &[db::t(user_id)])?;
    Ok(true)
}
