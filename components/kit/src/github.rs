//! A user's GitHub grant: revoking it at GitHub (`DELETE /applications/{client_id}/grant`,
//! with the OAuth app's client id and secret as Basic credentials and the token in the body),
//! then forgetting the token.

use std::time::Duration;

use base64::Engine as _;
use chatcode_core::{ApiError, ErrorKind};
use spin_sdk::{
    http::{Method, Request},
    sqlite::Connection,
};

use crate::{config, db, outbound, vault};

const SQL_TOKEN: &str = "SELECT github_access_token_encrypted FROM users WHERE id = ?";
const SQL_FORGET: &str = "UPDATE users SET github_access_token_encrypted = NULL WHERE id = ?";

/// How long GitHub may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Revokes the user's grant at GitHub and forgets the token; false if none is stored. GitHub
/// answers 204, or 404/422 for a grant that is already gone: all three count as revoked. Any
/// other failure is a 502 and keeps the token. A token that no longer decrypts (a changed key)
/// cannot be sent, so it is only forgotten.
pub async fn revoke(conn: &Connection, user_id: &str) -> Result<bool, ApiError> {
    let row = db::run(conn, SQL_TOKEN, &[db::t(user_id)])?;
    let Some(sealed) = db::text(&row, 0, 0) else {
        return Ok(false);
    };
    let Ok(token) = vault::open(&sealed, &vault::github(user_id)) else {
        db::run(conn, SQL_FORGET, &[db::t(user_id)])?;
        return Ok(true);
    };
    let base = config::required("github_api_base")?;
    let client_id = config::required("github_client_id")?;
    let secret = config::required("github_client_secret")?;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let request = Request::builder()
        .method(Method::Delete)
        .uri(format!(
            "{}/applications/{}/grant",
            base.trim_end_matches('/'),
            urlencoding::encode(&client_id)
        ))
        .header("authorization", format!("Basic {basic}"))
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28")
        .header("user-agent", "chatcode")
        .header("content-type", "application/json")
        .body(serde_json::json!({ "access_token": token }).to_string())
        .build();
    let failed = |why: String| ApiError::new(ErrorKind::BadGateway, format!("GitHub: {why}"));
    let response = outbound::send(request, TIMEOUT)
        .await
        .map_err(|e| failed(e.to_string()))?;
    match *response.status() {
        204 | 404 | 422 => {}
        status => {
            return Err(failed(format!(
                "the revocation answered HTTP {status}; try again"
            )));
        }
    }
    db::run(conn, SQL_FORGET, &[db::t(user_id)])?;
    Ok(true)
}
