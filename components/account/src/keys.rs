//! API keys: `POST /api/account/api-key` makes one and shows it once,
//! `GET /api/account/api-keys` lists them (never a whole key), and
//! `DELETE /api/account/api-keys/:id` revokes one at once, closing the terminals opened with it.

use chatcode_core::{
    ApiError, IdKind, api_key, ids::new_id, login::api_key_ref, revocation::Revocation,
    time::now_ms,
};
use chatcode_kit::{Reply, caller, db, hub, respond};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Request;

use crate::store;

/// Largest request body.
const MAX_BODY: usize = 1024;
/// Keys one user may hold.
const MAX_KEYS: i64 = 25;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKeyRequest {
    name: String,
}

/// 201 `{id, key, prefix, name, created_at}`; the key is never shown again.
pub fn create(req: &Request) -> Reply {
    let caller = caller::require(req)?;
    let body: NewKeyRequest = respond::parse_body(req.body(), MAX_BODY)?;
    let name = api_key::validate_name(&body.name)
        .map_err(|why| ApiError::invalid_fields([("name".to_owned(), why.to_owned())].into()))?;
    let conn = db::open()?;
    let (id, key, now) = db::transaction(&conn, |conn| {
        if store::key_count(conn, &caller.user_id)? >= MAX_KEYS {
            return Err(ApiError::conflict(format!(
                "an account holds at most {MAX_KEYS} API keys; revoke one first"
            )));
        }
        let new = api_key::generate();
        if store::prefix_taken(conn, &new.prefix)? {
            // 48 random bits collided: vanishingly rare, and a retry draws new ones.
            return Err(ApiError::service_unavailable());
        }
        let id = new_id(IdKind::ApiKey);
        let now = now_ms();
        store::insert_key(conn, &id, &caller.user_id, &name, &new, now)?;
        Ok((id, new, now))
    })?;
    respond::json(
        201,
        &json!({
            "id": id,
            "key": key.key,
            "prefix": key.prefix,
            "name": name,
            "created_at": now,
        }),
    )
}

/// 200 `{api_keys: [{id, prefix, name, created_at, last_used_at}]}`, newest first.
pub fn list(req: &Request) -> Reply {
    let caller = caller::require(req)?;
    let conn = db::open()?;
    respond::json(
        200,
        &json!({ "api_keys": store::keys(&conn, &caller.user_id)? }),
    )
}

/// 204, and the terminals opened with the key close; another user's key, or none, is 404.
pub async fn revoke(req: &Request, key_id: &str) -> Reply {
    let caller = caller::require(req)?;
    let conn = db::open()?;
    if !store::delete_key(&conn, &caller.user_id, key_id)? {
        return Err(ApiError::not_found("no such API key"));
    }
    hub::revoke(&Revocation::Logins {
        user_id: caller.user_id,
        logins: vec![api_key_ref(key_id)],
    })
    .await;
    Ok(respond::no_content(None))
}
