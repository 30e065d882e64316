//! `GET/POST/DELETE /vps/:id/ssh-keys`: the SSH keys the gateway authorizes for the VPS,
//! mirrored in `authorized_keys` (public key, label, expiry) for the keys added here.

use chatcode_core::{
    ApiError, IdKind,
    ids::new_id,
    protocol::{Command, Query, SshAuthorize, SshRevoke},
    ssh::parse_public_key,
    time::{now_ms, parse_rfc3339_ms},
};
use chatcode_kit::{Reply, db, respond};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::{http::Request, sqlite::Value as Sql};

use crate::{gateway, manage::owned_vps};

/// Largest accepted body.
const MAX_BODY: usize = 20 * 1024;
/// Longest key label.
const MAX_LABEL_CHARS: usize = 64;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddKey {
    public_key: String,
    label: String,
    expires_at: Option<String>,
}

/// Lists the keys the gateway authorizes.
pub async fn list(req: &Request, vps_id: &str) -> Reply {
    let (_, vps, _conn) = owned_vps(req, vps_id)?;
    let command = Command::SshList(Query {
        request_id: gateway::request_id("ssh-list"),
    });
    let answer = gateway::ask(&vps.gateway_id, &command, false).await?;
    respond::json(200, &json!({ "keys": gateway::list(&answer, "keys") }))
}

/// Authorizes a key (optionally until `expires_at`); 201 with its fingerprint and the list.
pub async fn add(req: &Request, vps_id: &str) -> Reply {
    let (_, vps, conn) = owned_vps(req, vps_id)?;
    let body: AddKey = respond::parse_body(req.body(), MAX_BODY)?;
    let key = parse_public_key(&body.public_key)
        .map_err(|e| ApiError::unprocessable(format!("public_key: {e}")))?;
    let label = body.label.trim();
    if label.is_empty()
        || label.chars().count() > MAX_LABEL_CHARS
        || label.chars().any(char::is_control)
    {
        return Err(ApiError::unprocessable(format!(
            "label: 1 to {MAX_LABEL_CHARS} printable characters"
        )));
    }
    let expires_at = match &body.expires_at {
        None => None,
        Some(at) => match parse_rfc3339_ms(at) {
            Some(ms) if ms > now_ms() => Some(ms),
            Some(_) => return Err(ApiError::unprocessable("expires_at is in the past")),
            None => return Err(ApiError::unprocessable("expires_at must be RFC 3339")),
        },
    };
    let command = Command::SshAuthorize(SshAuthorize {
        request_id: gateway::request_id("ssh-authorize"),
        public_key: body.public_key.trim().to_owned(),
        label: label.to_owned(),
        expires_at: body.expires_at.clone(),
    });
    let answer = gateway::ask(&vps.gateway_id, &command, true).await?;
    db::run(
        &conn,
        "INSERT INTO authorized_keys (id, vps_id, fingerprint, public_key, label, expires_at, \
         created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (vps_id, fingerprint) DO UPDATE \
         SET label = excluded.label, expires_at = excluded.expires_at",
        &[
            db::t(&new_id(IdKind::Key)),
            db::t(&vps.id),
            db::t(&key.fingerprint),
            db::t(body.public_key.trim()),
            db::t(label),
            expires_at.map_or(Sql::Null, Sql::Integer),
            Sql::Integer(now_ms()),
        ],
    )?;
    respond::json(
        201,
        &json!({
            "fingerprint": key.fingerprint,
            "algorithm": key.algorithm,
            "keys": gateway::list(&answer, "keys"),
        }),
    )
}

/// Revokes the key `?fingerprint=SHA256:…`; 204.
pub async fn revoke(req: &Request, vps_id: &str) -> Reply {
    let (_, vps, conn) = owned_vps(req, vps_id)?;
    let fingerprint = req
        .query()
        .split('&')
        .find_map(|pair| pair.strip_prefix("fingerprint="))
        .and_then(|v| urlencoding::decode(v).ok())
        .map(std::borrow::Cow::into_owned)
        .filter(|f| f.starts_with("SHA256:") && f.len() <= 128)
        .ok_or_else(|| ApiError::bad_request("?fingerprint=SHA256:… is required"))?;
    let command = Command::SshRevoke(SshRevoke {
        request_id: gateway::request_id("ssh-revoke"),
        fingerprint: fingerprint.clone(),
    });
    gateway::ask(&vps.gateway_id, &command, true).await?;
    db::run(
        &conn,
        "DELETE FROM authorized_keys WHERE vps_id = ? AND fingerprint = ?",
        &[db::t(&vps.id), db::t(&fingerprint)],
    )?;
    Ok(respond::no_content(None))
}
