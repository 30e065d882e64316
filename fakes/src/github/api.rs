//! GitHub's REST endpoints `/user` and `/user/emails`, and the gate in front
//! of them: a required `User-Agent`, token auth, scopes and rate limits.

use std::collections::HashMap;

use axum::{
    Extension,
    extract::{Query, Request, State},
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    GithubUser,
    state::{Bucket, GhState, Token, WINDOW_SECS},
};
use crate::common::{oauth::authorization_token, random};

const NO_USER_AGENT: &str = "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n";

/// The caller, for the handlers.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub user: GithubUser,
    pub scopes: Vec<String>,
}

/// A GitHub REST error: `{"message","documentation_url","status"}`.
pub(crate) fn error(status: StatusCode, message: &str, documentation_url: &str) -> Response {
    let body = json!({ "message": message, "documentation_url": documentation_url, "status": status.as_u16().to_string() });
    json(status, &body)
}

/// JSON with GitHub's content type.
pub(crate) fn json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// The 401 for a token GitHub does not know.
pub(crate) fn bad_credentials() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "Bad credentials",
        "https://docs.github.com/rest",
    )
}

/// The 403 for a secondary rate limit, with `retry-after`.
pub(crate) fn secondary_limit(retry_after: u64) -> Response {
    let mut response = error(
        StatusCode::FORBIDDEN,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
    );
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// Middleware on `/user` and `/user/emails`.
pub(crate) async fn guard(State(state): State<GhState>, mut req: Request, next: Next) -> Response {
    let has_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty());
    if !has_agent {
        let mut response = (StatusCode::FORBIDDEN, NO_USER_AGENT).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        return response;
    }
    let now = state.now_secs();
    let limit = state.config().rate_limit;
    let token = authorization_token(req.headers(), &["bearer", "token"]).map(str::to_owned);
    let Some(token) = token else {
        let response = error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
            "https://docs.github.com/rest/users/users#get-the-authenticated-user",
        );
        return with_limits(response, 60, 60, now + WINDOW_SECS, None);
    };
    let granted = {
        let inner = state.lock();
        inner
            .tokens
            .get(&token)
            .cloned()
            .and_then(|t: Token| inner.users.get(t.user).cloned().map(|u| (u, t.scopes)))
    };
    let Some((user, scopes)) = granted else {
        return with_limits(bad_credentials(), 60, 60, now + WINDOW_SECS, None);
    };
    let (used, reset) = {
        let mut inner = state.lock();
        let mut bucket = inner.buckets.get(&token).copied().unwrap_or(Bucket {
            window_start: now,
            used: 0,
        });
        if now >= bucket.window_start + WINDOW_SECS {
            bucket = Bucket {
                window_start: now,
                used: 0,
            };
        }
        if bucket.used < limit {
            bucket.used += 1;
            inner.buckets.insert(token.clone(), bucket);
            (Some(bucket.used), bucket.window_start + WINDOW_SECS)
        } else {
            (None, bucket.window_start + WINDOW_SECS)
        }
    };
    let Some(used) = used else {
        let response = error(
            StatusCode::FORBIDDEN,
            &format!("API rate limit exceeded for user ID {}.", user.id),
            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        );
        return with_limits(response, limit, limit, reset, Some(&scopes));
    };
    req.extensions_mut().insert(Caller {
        user,
        scopes: scopes.clone(),
    });
    let response = next.run(req).await;
    with_limits(response, limit, used, reset, Some(&scopes))
}

/// Adds `x-ratelimit-*` and GitHub's other response headers.
fn with_limits(
    mut response: Response,
    limit: u32,
    used: u32,
    reset: u64,
    scopes: Option<&[String]>,
) -> Response {
    let remaining = if response.status() == StatusCode::FORBIDDEN
        && response.headers().contains_key(header::RETRY_AFTER)
    {
        0
    } else {
        limit.saturating_sub(used)
    };
    let mut pairs = vec![
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
        ("x-ratelimit-used", used.to_string()),
        ("x-ratelimit-resource", "core".to_owned()),
        ("x-github-media-type", "github.v3; format=json".to_owned()),
        ("x-github-api-version-selected", "2022-11-28".to_owned()),
        ("x-github-request-id", random::hex(8).to_uppercase()),
    ];
    if let Some(scopes) = scopes {
        pairs.push(("x-oauth-scopes", scopes.join(", ")));
    }
    let headers = response.headers_mut();
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}

/// `GET /user`.
pub(crate) async fn user(
    State(state): State<GhState>,
    Extension(caller): Extension<Caller>,
) -> Response {
    json(StatusCode::OK, &user_json(&caller.user, &state.0.base_url))
}

fn user_json(u: &GithubUser, base: &str) -> Value {
    let api = format!("{base}/users/{}", u.login);
    json!({
        "login": u.login,
        "id": u.id,
        "node_id": u.node_id,
        "avatar_url": u.avatar_url,
        "gravatar_id": "",
        "url": api,
        "html_url": format!("https://github.com/{}", u.login),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": "User",
        "user_view_type": "private",
        "site_admin": false,
        "name": u.name,
        "company": null,
        "blog": "",
        "location": null,
        "email": u.email,
        "hireable": null,
        "bio": null,
        "twitter_username": null,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": "2011-01-25T18:44:36Z",
        "updated_at": "2024-01-22T12:00:00Z",
    })
}

/// `GET /user/emails[?per_page=&page=]`: needs `user:email` or `user`;
/// without it GitHub answers 404.
pub(crate) async fn emails(
    State(state): State<GhState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !caller
        .scopes
        .iter()
        .any(|s| s == "user:email" || s == "user")
    {
        return error(
            StatusCode::NOT_FOUND,
            "Not Found",
            "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user",
        );
    }
    let per_page = q
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = q
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let all = &caller.user.emails;
    let items: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|e| json!({ "email": e.email, "primary": e.primary, "verified": e.verified, "visibility": e.visibility }))
        .collect();
    let mut response = json(StatusCode::OK, &Value::Array(items));
    let last = all.len().div_ceil(per_page).max(1);
    let link = |p: usize, rel: &str| {
        format!(
            "<{}/user/emails?per_page={per_page}&page={p}>; rel=\"{rel}\"",
            state.0.base_url
        )
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(link(page - 1, "prev"));
    }
    if page < last {
        links.push(link(page + 1, "next"));
        links.push(link(last, "last"));
    }
    if page > 1 {
        links.push(link(1, "first"));
    }
    if !links.is_empty()
        && let Ok(v) = HeaderValue::from_str(&links.join(", "))
    {
        response.headers_mut().insert(header::LINK, v);
    }
    response
}
