//! GitHub sign-in: `GET /api/auth/github/start` → GitHub; the callback
//! exchanges the code, reads the user and their verified primary e-mail,
//! upserts the user by GitHub id, stores the token encrypted, signs in.

use chatcode_core::{ApiError, oauth::Provider};
use chatcode_kit::{Reply, db, login, outbound, respond, vault};
use serde::Deserialize;
use spin_sdk::http::{Method, Request, Response};

use crate::{config, flow, provider, users};

const NAME: &str = "GitHub";
/// Where GitHub sends the browser back.
pub const CALLBACK: &str = "/api/auth/github/callback";
const USER_AGENT: &str = "chatcode";
const API_VERSION: &str = "2022-11-28";

/// GitHub's token answer: errors come with HTTP 200 and an `error` field.
#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct GithubUser {
    id: i64,
    login: String,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

/// `GET /api/auth/github/start`: redirect to GitHub.
pub fn start(_req: &Request) -> Reply {
    let client = config::github()?;
    let started = flow::start(Provider::Github, CALLBACK)?;
    let query = outbound::form(&[
        ("client_id", &client.client_id),
        ("redirect_uri", &client.redirect_uri),
        ("scope", "read:user user:email"),
        ("state", &started.state),
        ("code_challenge", &started.code_challenge),
        ("code_challenge_method", "S256"),
        ("allow_signup", "true"),
    ]);
    let location = format!("{}/login/oauth/authorize?{query}", client.oauth_base);
    Ok(respond::redirect(&location, Some(started.cookie)))
}

/// `GET /api/auth/github/callback`.
pub async fn callback(req: Request) -> Reply {
    let client = config::github()?;
    let api = config::github_api_base()?;
    let verified = flow::verify(&req, Provider::Github, NAME)?;
    let cipher = vault::cipher()?;
    let exchange = Request::builder()
        .method(Method::Post)
        .uri(format!("{}/login/oauth/access_token", client.oauth_base))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("user-agent", USER_AGENT)
        .body(outbound::form(&[
            ("client_id", &client.client_id),
            ("client_secret", &client.client_secret),
            ("code", &verified.code),
            ("redirect_uri", &client.redirect_uri),
            ("code_verifier", &verified.verifier),
        ]))
        .build();
    let answer: TokenAnswer = provider::json(NAME, &provider::send(NAME, exchange).await?)?;
    let token = match (answer.access_token, answer.error) {
        (_, Some(error)) => {
            eprintln!(
                "GitHub refused the code: {error}: {}",
                answer.error_description.unwrap_or_default()
            );
            return Err(provider::failure(
                NAME,
                format!("GitHub refused the code ({error})"),
            ));
        }
        (Some(token), None) if !token.is_empty() => token,
        _ => return Err(provider::failure(NAME, "GitHub sent no token")),
    };
    let user: GithubUser = provider::json(NAME, &api_get(&api, "/user", &token).await?)?;
    let emails: Vec<GithubEmail> = provider::json(
        NAME,
        &api_get(&api, "/user/emails?per_page=100", &token).await?,
    )?;
    let primary = emails
        .into_iter()
        .find(|e| e.primary && e.verified)
        .map(|e| e.email);

    let signed_in = login::from_cookie(&req)?;
    let conn = db::open()?;
    let github_id = user.id.to_string();
    let owner = users::user_of_github(&conn, &github_id)?;
    let user_id = match (&signed_in, owner) {
        (Some(current), Some(owner)) if owner != current.user_id => {
            return Err(ApiError::conflict(
                "this GitHub account belongs to another chatcode user",
            ));
        }
        (Some(current), _) => current.user_id.clone(),
        (None, Some(owner)) => owner,
        (None, None) => users::create(
            &conn,
            users::free_username(&conn, &user.login, &github_id)?.as_deref(),
        )?,
    };
    let sealed = cipher.seal(&token, &vault::github(&user_id));
    users::save_github(
        &conn,
        &user_id,
        &github_id,
        &user.login,
        &sealed,
        primary.as_deref(),
    )?;
    let cookie = flow::finish_cookie(&req, signed_in.is_some(), &user_id, CALLBACK)?;
    Ok(respond::redirect(
        crate::digitalocean::DASHBOARD,
        Some(cookie),
    ))
}

async fn api_get(base: &str, path: &str, token: &str) -> Result<Response, ApiError> {
    let request = Request::builder()
        .method(Method::Get)
        .uri(format!("{base}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", API_VERSION)
        .header("user-agent", USER_AGENT)
        .build();
    provider::send(NAME, request).await
}
