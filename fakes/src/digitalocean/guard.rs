//! The API v2 gate: Bearer authentication, token scopes, the hourly rate
//! limit, and the `ratelimit-*` / `x-request-id` headers on every answer.

use axum::{
    extract::{Request, State},
    http::{HeaderName, HeaderValue, StatusCode},
    middleware::Next,
    response::Response,
};

use super::{
    DoEndpoint,
    errors::{api_error, api_status_text},
    state::{Bucket, DoState, Token, WINDOW_SECS},
};
use crate::common::{oauth::authorization_token, random};

/// Who is calling, for the handlers.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub account: usize,
    pub request_id: String,
}

/// Rate-limit numbers for the response headers.
#[derive(Debug, Clone, Copy)]
struct Limits {
    limit: u32,
    remaining: u32,
    reset: u64,
}

/// Middleware on every `/v2` route.
pub(crate) async fn guard(State(state): State<DoState>, mut req: Request, next: Next) -> Response {
    let request_id = random::uuid();
    let endpoint = req.extensions().get::<DoEndpoint>().copied();
    let token = authorization_token(req.headers(), &["bearer"]).map(str::to_owned);
    let now = state.now_secs();
    let limit = state.config().rate_limit;
    let idle = Limits {
        limit,
        remaining: limit,
        reset: now + WINDOW_SECS,
    };
    let verdict = token.as_deref().and_then(|t| lookup(&state, t, now));
    let (mut response, limits) = match (verdict, token) {
        (Some(granted), Some(token)) => {
            if !endpoint.is_some_and(|e| allows(&granted.scope, e)) {
                let (id, message) = api_status_text(StatusCode::FORBIDDEN);
                (
                    api_error(StatusCode::FORBIDDEN, id, message, &request_id),
                    idle,
                )
            } else {
                match consume(&state, &token, now, limit) {
                    Ok(limits) => {
                        req.extensions_mut().insert(Caller {
                            account: granted.account,
                            request_id: request_id.clone(),
                        });
                        (next.run(req).await, limits)
                    }
                    Err(limits) => (
                        rate_limited(&request_id, limits.reset.saturating_sub(now).max(1)),
                        limits,
                    ),
                }
            }
        }
        _ => {
            let (id, message) = api_status_text(StatusCode::UNAUTHORIZED);
            (
                api_error(StatusCode::UNAUTHORIZED, id, message, &request_id),
                idle,
            )
        }
    };
    let remaining = if response.status() == StatusCode::TOO_MANY_REQUESTS {
        0
    } else {
        limits.remaining
    };
    let headers = response.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", limits.limit.to_string()),
        ("ratelimit-remaining", remaining.to_string()),
        ("ratelimit-reset", limits.reset.to_string()),
        ("x-request-id", request_id),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}

/// A valid (issued, unexpired, unrevoked, or static) token's grant.
fn lookup(state: &DoState, token: &str, now: u64) -> Option<Token> {
    if state.config().static_tokens.iter().any(|t| t == token) {
        return Some(Token {
            account: 0,
            scope: "read write".to_owned(),
            expires_at: None,
            refresh_token: None,
        });
    }
    let inner = state.lock();
    let found = inner.tokens.get(&token.to_owned())?;
    found
        .expires_at
        .is_none_or(|at| at > now)
        .then(|| found.clone())
}

/// Whether a token's scopes allow an endpoint (`read`/`write`, or granular
/// `droplet:*` / `account:read` scopes).
fn allows(scope: &str, endpoint: DoEndpoint) -> bool {
    let has = |s: &str| scope.split_whitespace().any(|x| x == s);
    let write = has("write");
    match endpoint {
        DoEndpoint::Account => has("read") || write || has("account:read"),
        DoEndpoint::ListDroplets | DoEndpoint::GetDroplet | DoEndpoint::GetAction => {
            has("read") || write || has("droplet:read") || has("actions:read")
        }
        DoEndpoint::ListRegions => has("read") || write || has("regions:read"),
        DoEndpoint::ListSizes => has("read") || write || has("sizes:read"),
        DoEndpoint::CreateDroplet => write || has("droplet:create"),
        DoEndpoint::DeleteDroplet => write || has("droplet:delete"),
        DoEndpoint::DropletAction => write || has("droplet:update"),
        DoEndpoint::Authorize | DoEndpoint::Token | DoEndpoint::Revoke => true,
    }
}

/// Counts one request against the token's hourly budget.
fn consume(state: &DoState, token: &str, now: u64, limit: u32) -> Result<Limits, Limits> {
    let mut inner = state.lock();
    let key = token.to_owned();
    let mut bucket = inner.buckets.get(&key).copied().unwrap_or(Bucket {
        window_start: now,
        used: 0,
    });
    if now >= bucket.window_start + WINDOW_SECS {
        bucket = Bucket {
            window_start: now,
            used: 0,
        };
    }
    let reset = bucket.window_start + WINDOW_SECS;
    if bucket.used >= limit {
        inner.buckets.insert(key, bucket);
        return Err(Limits {
            limit,
            remaining: 0,
            reset,
        });
    }
    bucket.used += 1;
    inner.buckets.insert(key, bucket);
    Ok(Limits {
        limit,
        remaining: limit - bucket.used,
        reset,
    })
}

/// DigitalOcean's 429, with `retry-after` in seconds.
pub(crate) fn rate_limited(request_id: &str, retry_after: u64) -> Response {
    let (id, message) = api_status_text(StatusCode::TOO_MANY_REQUESTS);
    let mut response = api_error(StatusCode::TOO_MANY_REQUESTS, id, message, request_id);
    if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("retry-after"), value);
    }
    response
}
