//! DigitalOcean's OAuth endpoints under `/v1/oauth`: `authorize`, `token`
//! (authorization code and refresh token grants) and `revoke`.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, Uri},
    response::Response,
};
use serde_json::json;

use super::{
    errors::{INVALID_CLIENT, INVALID_GRANT, error_page, json_response, no_store, oauth_error},
    state::{CODE_LIFETIME_SECS, Code, DoState, Issued, TOKEN_LIFETIME_SECS},
};
use crate::common::{
    oauth::{authorization_token, basic_credentials, found, pkce_matches, redirect_url},
    params::Params,
    random,
};

const DENIED: &str = "The resource owner or authorization server denied the request.";

/// `GET /v1/oauth/authorize`: checks the client and callback, then sends the
/// browser back with a `code` (or `error=access_denied`).
pub(crate) async fn authorize(
    State(state): State<DoState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let config = state.config();
    let get = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    if get("client_id") != Some(config.client_id.as_str()) {
        return error_page(StatusCode::BAD_REQUEST, INVALID_CLIENT);
    }
    let registered = state.lock().redirect_uri.clone();
    let Some(redirect_uri) = get("redirect_uri").filter(|r| *r == registered) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The redirect uri included is not valid.",
        );
    };
    let state_param = get("state");
    let back = |params: &[(&str, &str)]| {
        let mut all = params.to_vec();
        if let Some(s) = state_param {
            all.push(("state", s));
        }
        redirect_url(redirect_uri, &all).map_or_else(
            || {
                error_page(
                    StatusCode::BAD_REQUEST,
                    "The redirect uri included is not valid.",
                )
            },
            |url| found(&url),
        )
    };
    if get("response_type") != Some("code") {
        return back(&[
            ("error", "unsupported_response_type"),
            (
                "error_description",
                "The authorization server does not support this response type.",
            ),
        ]);
    }
    let scope = get("scope").unwrap_or("read");
    if !scope.split_whitespace().all(valid_scope) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The requested scope is invalid, unknown, or malformed.",
        );
    }
    let challenge = match (get("code_challenge"), get("code_challenge_method")) {
        (None, _) => None,
        (Some(c), m @ (None | Some("plain" | "S256"))) => {
            Some((m.unwrap_or("plain").to_owned(), c.to_owned()))
        }
        (Some(_), Some(_)) => {
            return back(&[
                ("error", "invalid_request"),
                (
                    "error_description",
                    "The code challenge method must be plain or S256.",
                ),
            ]);
        }
    };
    let now = state.now_secs();
    let mut inner = state.lock();
    if inner.deny {
        drop(inner);
        return back(&[("error", "access_denied"), ("error_description", DENIED)]);
    }
    let code = random::hex(32);
    let account = inner.signed_in;
    inner.codes.insert(
        code.clone(),
        Code {
            client_id: config.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            scope: scope.split_whitespace().collect::<Vec<_>>().join(" "),
            account,
            expires_at: now + CODE_LIFETIME_SECS,
            challenge,
        },
    );
    drop(inner);
    back(&[("code", &code)])
}

/// `read`, `write`, or a granular `resource:verb` scope.
fn valid_scope(scope: &str) -> bool {
    matches!(scope, "read" | "write")
        || scope.split_once(':').is_some_and(|(r, v)| {
            !r.is_empty()
                && !v.is_empty()
                && scope
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b':' || b == b'_')
        })
}

/// `POST /v1/oauth/token`: parameters from the query string or a form body.
pub(crate) async fn token(
    State(state): State<DoState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::new(uri.query(), &headers, &body);
    let basic = basic_credentials(&headers);
    let client_id = params
        .get("client_id")
        .map(str::to_owned)
        .or_else(|| basic.as_ref().map(|b| b.0.clone()));
    let secret = params
        .get("client_secret")
        .map(str::to_owned)
        .or_else(|| basic.map(|b| b.1));
    match params.get("grant_type") {
        None => missing("grant_type"),
        Some("authorization_code") => exchange_code(&state, &params, client_id, secret),
        Some("refresh_token") => refresh(&state, &params, client_id, secret),
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        ),
    }
}

fn missing(name: &str) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &format!("Missing required parameter: {name}."),
    )
}

fn bad_client() -> Response {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", INVALID_CLIENT)
}

fn bad_grant() -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", INVALID_GRANT)
}

fn exchange_code(
    state: &DoState,
    params: &Params,
    client_id: Option<String>,
    secret: Option<String>,
) -> Response {
    let config = state.config();
    for name in ["code", "redirect_uri"] {
        if params.get(name).is_none() {
            return missing(name);
        }
    }
    if client_id.as_deref() != Some(config.client_id.as_str())
        || secret.as_deref() != Some(config.client_secret.as_str())
    {
        return bad_client();
    }
    let code = params.get("code").unwrap_or_default().to_owned();
    let now = state.now_secs();
    let mut inner = state.lock();
    let Some(grant) = inner.codes.get(&code).cloned() else {
        return bad_grant();
    };
    if grant.expires_at <= now
        || Some(grant.client_id.as_str()) != client_id.as_deref()
        || Some(grant.redirect_uri.as_str()) != params.get("redirect_uri")
    {
        return bad_grant();
    }
    if let Some((method, challenge)) = &grant.challenge {
        let Some(verifier) = params.get("code_verifier") else {
            return missing("code_verifier");
        };
        if !pkce_matches(method, challenge, verifier) {
            return bad_grant();
        }
    }
    inner.codes.remove(&code);
    let issued = inner.issue(grant.account, &grant.scope, now);
    drop(inner);
    token_response(state, &issued)
}

fn refresh(
    state: &DoState,
    params: &Params,
    client_id: Option<String>,
    secret: Option<String>,
) -> Response {
    let config = state.config();
    let Some(refresh_token) = params.get("refresh_token") else {
        return missing("refresh_token");
    };
    if client_id.is_some_and(|c| c != config.client_id)
        || secret.is_some_and(|s| s != config.client_secret)
    {
        return bad_client();
    }
    let now = state.now_secs();
    let mut inner = state.lock();
    let Some(access) = inner.refresh.get(&refresh_token.to_owned()).cloned() else {
        return bad_grant();
    };
    let Some(old) = inner.tokens.get(&access).cloned() else {
        return bad_grant();
    };
    inner.revoke(refresh_token);
    let issued = inner.issue(old.account, &old.scope, now);
    drop(inner);
    token_response(state, &issued)
}

fn token_response(state: &DoState, issued: &Issued) -> Response {
    let account = state
        .config()
        .accounts
        .get(issued.account)
        .cloned()
        .unwrap_or_default();
    let mut info = json!({ "name": account.name, "email": account.email, "uuid": account.uuid });
    if let Some(team) = account.team_uuid {
        info["team_uuid"] = json!(team);
    }
    no_store(json_response(
        StatusCode::OK,
        &json!({
            "access_token": issued.access_token,
            "token_type": "bearer",
            "expires_in": TOKEN_LIFETIME_SECS,
            "refresh_token": issued.refresh_token,
            "scope": issued.scope,
            "info": info,
        }),
    ))
}

/// `POST /v1/oauth/revoke` with `token=…` and a Bearer header. Unknown tokens
/// are not an error (RFC 7009).
pub(crate) async fn revoke(
    State(state): State<DoState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::new(uri.query(), &headers, &body);
    let Some(bearer) = authorization_token(&headers, &["bearer"]) else {
        return bad_client();
    };
    let Some(token) = params.get("token") else {
        return missing("token");
    };
    let mut inner = state.lock();
    let known = inner.tokens.get(&bearer.to_owned()).is_some()
        || state.config().static_tokens.iter().any(|t| t == bearer);
    if !known {
        return bad_client();
    }
    inner.revoke(token);
    drop(inner);
    no_store(json_response(StatusCode::OK, &json!({})))
}
