//! GitHub's OAuth web flow: `GET /login/oauth/authorize` and
//! `POST /login/oauth/access_token`, whose errors come with HTTP 200.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{Html, IntoResponse, Response},
};
use serde_json::json;

use super::state::{Authorization, CODE_LIFETIME_SECS, Code, GhState};
use crate::common::{
    oauth::{basic_credentials, found, pkce_matches, redirect_url},
    params::Params,
    random,
};

const AUTHZ_ERRORS: &str = "/apps/building-integrations/setting-up-and-registering-oauth-apps/troubleshooting-authorization-request-errors/";
const TOKEN_ERRORS: &str =
    "/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/";
const MISMATCH: &str =
    "The redirect_uri MUST match the registered callback URL for this application.";

/// Does `given` fall under the registered callback? Same scheme and host,
/// same port unless the host is loopback, and a path at or below its path.
pub(crate) fn matches_callback(given: &str, registered: &str) -> bool {
    let (Ok(given), Ok(registered)) = (url::Url::parse(given), url::Url::parse(registered)) else {
        return false;
    };
    let loopback = matches!(
        registered.host_str(),
        Some("127.0.0.1" | "[::1]" | "localhost")
    );
    let base = registered.path().trim_end_matches('/');
    given.scheme() == registered.scheme()
        && given.host_str() == registered.host_str()
        && (loopback || given.port_or_known_default() == registered.port_or_known_default())
        && (given.path() == registered.path()
            || given.path().trim_end_matches('/') == base
            || given.path().starts_with(&format!("{base}/")))
}

/// `GET /login/oauth/authorize`.
pub(crate) async fn authorize(
    State(state): State<GhState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let config = state.config();
    let get = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    if get("client_id") != Some(config.client_id.as_str()) {
        return (
            StatusCode::NOT_FOUND,
            Html("<!DOCTYPE html><html><body><h1>404</h1><p>Not Found</p></body></html>"),
        )
            .into_response();
    }
    let given = get("redirect_uri");
    let state_param = get("state");
    let back = |target: &str, params: &[(&str, &str)]| {
        let mut all = params.to_vec();
        if let Some(s) = state_param {
            all.push(("state", s));
        }
        redirect_url(target, &all).map_or_else(
            || (StatusCode::BAD_REQUEST, "invalid redirect_uri").into_response(),
            |u| found(&u),
        )
    };
    if given.is_some_and(|g| !matches_callback(g, &config.redirect_uri)) {
        let uri = format!("{AUTHZ_ERRORS}#redirect-uri-mismatch");
        return back(
            &config.redirect_uri,
            &[
                ("error", "redirect_uri_mismatch"),
                ("error_description", MISMATCH),
                ("error_uri", &uri),
            ],
        );
    }
    let target = given.unwrap_or(&config.redirect_uri);
    let challenge = get("code_challenge");
    if challenge.is_some() && get("code_challenge_method") != Some("S256") {
        return back(
            target,
            &[
                ("error", "invalid_request"),
                ("error_description", "code_challenge_method must be S256."),
            ],
        );
    }
    let mut inner = state.lock();
    if inner.deny {
        drop(inner);
        let uri = format!("{AUTHZ_ERRORS}#access-denied");
        return back(
            target,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "The user has denied your application access.",
                ),
                ("error_uri", &uri),
            ],
        );
    }
    let user = get("login")
        .and_then(|l| inner.users.iter().position(|u| u.login == l))
        .unwrap_or(inner.signed_in);
    let Some(login) = inner.users.get(user).map(|u| u.login.clone()) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no such user").into_response();
    };
    let mut scopes: Vec<String> = Vec::new();
    for s in get("scope")
        .unwrap_or("")
        .split([' ', ','])
        .filter(|s| !s.is_empty())
    {
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_owned());
        }
    }
    let code = random::hex(10);
    let expires_at = state.now_secs() + CODE_LIFETIME_SECS;
    inner.codes.insert(
        code.clone(),
        Code {
            user,
            redirect_uri: given.map(str::to_owned),
            scopes: scopes.clone(),
            expires_at,
            challenge: challenge.map(str::to_owned),
        },
    );
    inner.authorizations.insert(
        code.clone(),
        Authorization {
            code: code.clone(),
            login,
            redirect_uri: given.map(str::to_owned),
            scopes,
            state: state_param.map(str::to_owned),
            code_challenge: challenge.map(str::to_owned),
        },
    );
    drop(inner);
    back(target, &[("code", &code)])
}

/// `POST /login/oauth/access_token`: JSON with `Accept: application/json`,
/// otherwise form-encoded; errors too, always with HTTP 200.
pub(crate) async fn access_token(
    State(state): State<GhState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::new(uri.query(), &headers, &body);
    let wants_json = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("application/json"));
    let answer = exchange(&state, &params, &headers);
    let pairs: Vec<(&str, String)> = match &answer {
        Ok((token, scopes)) => vec![
            ("access_token", token.clone()),
            ("scope", scopes.join(",")),
            ("token_type", "bearer".to_owned()),
        ],
        Err((error, description, anchor)) => vec![
            ("error", (*error).to_owned()),
            ("error_description", (*description).to_owned()),
            ("error_uri", format!("{TOKEN_ERRORS}#{anchor}")),
        ],
    };
    if wants_json {
        let object: serde_json::Map<String, serde_json::Value> = pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), json!(v)))
            .collect();
        let mut response = (
            StatusCode::OK,
            serde_json::Value::Object(object).to_string(),
        )
            .into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        response
    } else {
        let body = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        let mut response = (StatusCode::OK, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        response
    }
}

type TokenError = (&'static str, &'static str, &'static str);

fn exchange(
    state: &GhState,
    params: &Params,
    headers: &HeaderMap,
) -> Result<(String, Vec<String>), TokenError> {
    const BAD_CODE: TokenError = (
        "bad_verification_code",
        "The code passed is incorrect or expired.",
        "bad-verification-code",
    );
    let config = state.config();
    let basic = basic_credentials(headers);
    let client_id = params
        .get("client_id")
        .map(str::to_owned)
        .or_else(|| basic.as_ref().map(|b| b.0.clone()));
    let secret = params
        .get("client_secret")
        .map(str::to_owned)
        .or_else(|| basic.map(|b| b.1));
    if client_id.as_deref() != Some(config.client_id.as_str())
        || secret.as_deref() != Some(config.client_secret.as_str())
    {
        return Err((
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
            "incorrect-client-credentials",
        ));
    }
    let redirect_uri = params.get("redirect_uri");
    if redirect_uri.is_some_and(|r| !matches_callback(r, &config.redirect_uri)) {
        return Err(("redirect_uri_mismatch", MISMATCH, "redirect-uri-mismatch2"));
    }
    let code = params.get("code").ok_or(BAD_CODE)?.to_owned();
    let now = state.now_secs();
    let mut inner = state.lock();
    let grant = inner.codes.get(&code).cloned().ok_or(BAD_CODE)?;
    if grant.expires_at <= now {
        return Err(BAD_CODE);
    }
    if let (Some(given), Some(original)) = (redirect_uri, grant.redirect_uri.as_deref())
        && given != original
    {
        return Err(("redirect_uri_mismatch", MISMATCH, "redirect-uri-mismatch2"));
    }
    if let Some(challenge) = &grant.challenge {
        let verified = params
            .get("code_verifier")
            .is_some_and(|v| pkce_matches("S256", challenge, v));
        if !verified {
            return Err(BAD_CODE);
        }
    }
    inner.codes.remove(&code);
    let token = inner.issue(grant.user, grant.scopes.clone());
    Ok((token, grant.scopes))
}
