//! `POST /api/account/delete {"confirm": "<username>"}`: deletes the caller's account.
//!
//! In order, each step finished and recorded before the next starts:
//! 1. every VPS is destroyed at DigitalOcean with its rows, terminal sessions included (the
//!    sessions end with their machine);
//! 2. the DigitalOcean and GitHub tokens are revoked at the providers, then forgotten;
//! 3. in one transaction: every login and API key, e-mail identity and setting is deleted,
//!    and the user row is anonymised. Ledger rows (usage, invoices) keep pointing at it. The
//!    hub is told, so nothing opened with them stays open.
//!
//! A failure part-way (DigitalOcean down, say) answers its error and leaves each VPS either
//! whole or gone; the caller is still signed in, and calling again finishes the job.

use chatcode_core::{
    ApiError,
    login::{api_key_ref, login_ref},
    revocation::Revocation,
    time::now_ms,
};
use chatcode_kit::{
    Reply, caller, db, digitalocean, droplets::DoClient, github, hub, login, respond, teardown,
};
use serde::Deserialize;
use serde_json::json;
use spin_sdk::{
    http::Request,
    sqlite::{Connection, Value},
};

use crate::store;

/// Largest request body.
const MAX_BODY: usize = 1024;

/// Rows that are the user's alone and go with the account.
const SQL_DELETE_OWNED: [&str; 6] = [
    "DELETE FROM api_keys WHERE user_id = ?",
    "DELETE FROM email_identities WHERE user_id = ?",
    "DELETE FROM stripe_payment_methods WHERE user_id = ?",
    "DELETE FROM repo_write_access WHERE user_id = ?",
    "DELETE FROM hud_settings WHERE user_id = ?",
    "DELETE FROM do_connections WHERE user_id = ?",
];
/// What is left of the user: an id the ledger still names, and when it was deleted.
const SQL_ANONYMISE: &str = "UPDATE users SET email = NULL, username = NULL, github_id = NULL, \
    github_username = NULL, github_access_token_encrypted = NULL, api_key_encrypted = NULL, \
    billing_info_encrypted = NULL, handoff_token_encrypted = NULL, handoff_expires_at = NULL, \
    payment_method_status = 'none', payment_method_brand = NULL, payment_method_last4 = NULL, \
    payment_method_added_at = NULL, updated_at = ?, deleted_at = ? WHERE id = ?";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    confirm: String,
}

/// 200 `{"deleted": true}`, signing the browser out; 422 unless `confirm` is the username.
pub async fn handle(req: Request) -> Reply {
    let caller = caller::require(&req)?;
    let body: Confirm = respond::parse_body(req.body(), MAX_BODY)?;
    let conn = db::open()?;
    let settings = store::settings(&conn, &caller.user_id)?.ok_or_else(ApiError::unauthorized)?;
    if settings.username() != Some(body.confirm.as_str()) {
        return Err(ApiError::invalid_fields(
            [(
                "confirm".to_owned(),
                "type your username to confirm".to_owned(),
            )]
            .into(),
        ));
    }
    destroy_machines(&conn, &caller.user_id).await?;
    digitalocean::revoke(&conn, &caller.user_id).await?;
    github::revoke(&conn, &caller.user_id).await?;
    let mut ended: Vec<String> = login::end_all(&caller.user_id)?
        .iter()
        .map(|hash| login_ref(hash))
        .collect();
    ended.extend(
        store::keys(&conn, &caller.user_id)?
            .iter()
            .map(|key| api_key_ref(&key.id)),
    );
    forget(&conn, &caller.user_id)?;
    hub::revoke(&Revocation::Logins {
        user_id: caller.user_id,
        logins: ended,
    })
    .await;
    respond::json_setting(
        200,
        &json!({ "deleted": true }),
        Some(login::clear_cookie()),
    )
}

/// Step 1: every VPS destroyed at DigitalOcean, then its rows.
async fn destroy_machines(conn: &Connection, user_id: &str) -> Result<(), ApiError> {
    let doomed = teardown::of_user(conn, user_id)?;
    if doomed.is_empty() {
        return Ok(());
    }
    let mut client = DoClient::for_user(conn, user_id).map_err(|e| {
        ApiError::new(
            e.kind,
            format!(
                "{} VPS(es) must be destroyed first: {}",
                doomed.len(),
                e.message
            ),
        )
    })?;
    for vps in &doomed {
        teardown::destroy(conn, &mut client, vps).await?;
    }
    Ok(())
}

/// Step 3: the account's own rows go and the user row keeps only its id.
fn forget(conn: &Connection, user_id: &str) -> Result<(), ApiError> {
    db::transaction(conn, |conn| {
        for sql in SQL_DELETE_OWNED {
            db::run(conn, sql, &[db::t(user_id)])?;
        }
        let now = Value::Integer(now_ms());
        db::run(conn, SQL_ANONYMISE, &[now.clone(), now, db::t(user_id)])?;
        Ok(())
    })
}
