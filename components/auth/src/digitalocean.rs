//! DigitalOcean OAuth: connect an account (signing in if needed), disconnect.
//!
//! `GET /auth/do` → DigitalOcean's authorize page; `GET /auth/do/callback`
//! exchanges the code, stores the tokens encrypted and signs the browser in;
//! `POST /auth/do/disconnect` revokes at DigitalOcean and forgets the tokens.

use chatcode_core::{ApiError, oauth::Provider, time::now_ms};
use chatcode_kit::{Reply, caller, db, login, outbound, respond, vault};
use serde::Deserialize;
use spin_sdk::http::{Method, Request};

use crate::{config, flow, provider, users};

const NAME: &str = "DigitalOcean";
/// Where DigitalOcean sends the browser back.
pub const CALLBACK: &str = "/auth/do/callback";
/// Where a signed-in browser lands.
pub const DASHBOARD: &str = "/dashboard";

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: String,
    expires_in: i64,
    info: AccountInfo,
}

#[derive(Deserialize)]
struct AccountInfo {
    uuid: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    team_uuid: Option<String>,
}

/// `GET /auth/do`: redirect to DigitalOcean.
pub fn start(_req: &Request) -> Reply {
    let client = config::digitalocean()?;
    let started = flow::start(Provider::Digitalocean, CALLBACK)?;
    let query = outbound::form(&[
        ("client_id", &client.client_id),
        ("redirect_uri", &client.redirect_uri),
        ("response_type", "code"),
        ("scope", "read write"),
        ("state", &started.state),
        ("code_challenge", &started.code_challenge),
        ("code_challenge_method", "S256"),
    ]);
    let location = format!("{}/v1/oauth/authorize?{query}", client.oauth_base);
    Ok(respond::redirect(&location, Some(started.cookie)))
}

/// `GET /auth/do/callback`.
pub async fn callback(req: Request) -> Reply {
    let client = config::digitalocean()?;
    let verified = flow::verify(&req, Provider::Digitalocean, NAME)?;
    let cipher = vault::cipher()?;
    let body = outbound::form(&[
        ("grant_type", "authorization_code"),
        ("code", &verified.code),
        ("client_id", &client.client_id),
        ("client_secret", &client.client_secret),
        ("redirect_uri", &client.redirect_uri),
        ("code_verifier", &verified.verifier),
    ]);
    let request = Request::builder()
        .method(Method::Post)
        .uri(format!("{}/v1/oauth/token", client.oauth_base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .build();
    let response = provider::send(NAME, request).await?;
    let answer: TokenAnswer = provider::json(NAME, &response)?;
    if answer.access_token.is_empty()
        || answer.refresh_token.is_empty()
        || answer.info.uuid.is_empty()
    {
        return Err(provider::failure(NAME, "DigitalOcean sent no token"));
    }

    let signed_in = login::from_cookie(&req)?;
    let conn = db::open()?;
    let owner = users::user_of_do_account(&conn, &answer.info.uuid)?;
    let user_id = match (&signed_in, owner) {
        (Some(current), Some(owner)) if owner != current.user_id => {
            return Err(ApiError::conflict(
                "this DigitalOcean account is connected to another chatcode user",
            ));
        }
        (Some(current), _) => current.user_id.clone(),
        (None, Some(owner)) => owner,
        (None, None) => users::create(&conn, None)?,
    };
    let now = now_ms();
    users::save_do_connection(
        &conn,
        &users::DoConnection {
            user_id: &user_id,
            account_uuid: &answer.info.uuid,
            email: answer.info.email.as_deref(),
            team_uuid: answer.info.team_uuid.as_deref(),
            access_token: cipher.seal(&answer.access_token, &vault::do_access(&user_id)),
            refresh_token: cipher.seal(&answer.refresh_token, &vault::do_refresh(&user_id)),
            expires_at: now.saturating_add(answer.expires_in.saturating_mul(1000)),
            now,
        },
    )?;
    let cookie = flow::finish_cookie(&req, signed_in.is_some(), &user_id, CALLBACK)?;
    Ok(respond::redirect(DASHBOARD, Some(cookie)))
}

/// `POST /auth/do/disconnect`: revoke at DigitalOcean, then delete the row; 204, or 404 when
/// no account is connected.
pub async fn disconnect(req: Request) -> Reply {
    let current = caller::require(&req)?;
    let conn = db::open()?;
    if !chatcode_kit::digitalocean::revoke(&conn, &current.user_id).await? {
        return Err(ApiError::not_found("no DigitalOcean account is connected"));
    }
    Ok(respond::no_content(None))
}
