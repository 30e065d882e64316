//! The gate every `/v1` request passes: the API key, `Stripe-Version`, the form body,
//! `Idempotency-Key`, injected faults; then `Request-Id` and friends on every answer, and
//! errors rendered with their `request_log_url`.

use std::sync::Arc;

use axum::{
    body::to_bytes,
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, header},
    middleware::Next,
    response::Response,
};

use super::{
    StripeEndpoint,
    errors::ApiError,
    form::{self, Form},
    idempotency::{self, Answer, Begin},
    state::{Origin, StripeState},
};
use crate::common::{
    faults::Fault,
    oauth::{authorization_token, basic_credentials},
    observe::Fake,
    random,
};

/// Largest answer the idempotency store keeps.
const MAX_ANSWER: usize = 1 << 20;

/// Who is calling and with what, for the handlers.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub api_key: String,
    pub request_id: String,
    pub idempotency_key: Option<String>,
    /// The decoded parameters (form body of a POST, query of a GET).
    pub form: Arc<Form>,
}

impl Caller {
    /// The `request` of events this request causes.
    pub(crate) fn origin(&self) -> Origin {
        Origin {
            request_id: Some(self.request_id.clone()),
            idempotency_key: self.idempotency_key.clone(),
        }
    }
}

/// Middleware on every `/v1` route.
pub(crate) async fn gate(State(state): State<StripeState>, req: Request, next: Next) -> Response {
    let request_id = format!("req_{}", random::alphanumeric(14));
    let version = requested_version(req.headers());
    let idempotency_key = header_text(req.headers(), "idempotency-key");
    let (response, original) = match admit(&state, req, &request_id, &version).await {
        // On a task of its own: like Stripe, the work finishes (and its idempotency key is
        // saved) even if the client hangs up.
        Ok((req, caller)) => tokio::spawn(serve(state.clone(), req, caller, next))
            .await
            .unwrap_or_else(|_| {
                let e = ApiError::api(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
                (render(&state, e, &request_id), None)
            }),
        Err(e) => (render(&state, e, &request_id), None),
    };
    let version = version
        .ok()
        .flatten()
        .unwrap_or_else(|| state.config().api_version.clone());
    decorate(response, &request_id, &version, idempotency_key, original)
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The `Stripe-Version` asked for: `YYYY-MM-DD` with an optional `.name`.
fn requested_version(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(version) = header_text(headers, "stripe-version") else {
        return Ok(None);
    };
    let (date, name) = version.split_once('.').unwrap_or((version.as_str(), "x"));
    let date_ok = date.len() == 10
        && date.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if date_ok && !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase()) {
        Ok(Some(version))
    } else {
        Err(ApiError::invalid(format!("Invalid Stripe API version: {version}")).unsaved())
    }
}

/// Checks the key, the version, the idempotency key and the body; decodes the parameters.
async fn admit(
    state: &StripeState,
    req: Request,
    request_id: &str,
    version: &Result<Option<String>, ApiError>,
) -> Result<(Request, Caller), ApiError> {
    let headers = req.headers();
    let api_key = authorization_token(headers, &["bearer"])
        .map(str::to_owned)
        .or_else(|| basic_credentials(headers).map(|(user, _)| user));
    let api_key = match api_key {
        Some(key) if state.config().secret_keys.contains(&key) => key,
        other => return Err(ApiError::unauthorized(other.as_deref())),
    };
    if let Err(e) = version {
        return Err(e.clone());
    }
    let is_post = req.method() == Method::POST;
    let idempotency_key = header_text(headers, "idempotency-key").filter(|_| is_post);
    if let Some(key) = &idempotency_key {
        idempotency::check_length(key)?;
    }
    let content_type = header_text(headers, header::CONTENT_TYPE.as_str()).unwrap_or_default();
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_ANSWER)
        .await
        .map_err(|_| ApiError::invalid("Invalid request: the body is too large.").unsaved())?;
    let raw: &[u8] = if is_post {
        let form_type = content_type
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded");
        if !bytes.is_empty() && !form_type {
            return Err(ApiError::invalid(format!(
                "Invalid request: unsupported Content-Type {content_type}. If error persists and you need assistance, please contact support@stripe.com."
            ))
            .unsaved());
        }
        &bytes
    } else {
        parts.uri.query().unwrap_or_default().as_bytes()
    };
    let form = form::decode(raw).map_err(|e| ApiError::invalid(e.0).unsaved())?;
    let caller = Caller {
        api_key,
        request_id: request_id.to_owned(),
        idempotency_key,
        form: Arc::new(form),
    };
    let mut req = Request::from_parts(parts, bytes.into());
    req.extensions_mut().insert(caller.clone());
    Ok((req, caller))
}

/// Runs the request under its idempotency key and any fault a test queued; returns the
/// answer and, for a replay, the first request's id.
async fn serve(
    state: StripeState,
    req: Request,
    caller: Caller,
    next: Next,
) -> (Response, Option<String>) {
    let endpoint = req.extensions().get::<StripeEndpoint>().copied();
    let target = format!("{} {}", req.method(), req.uri().path());
    let key = caller.idempotency_key.as_deref();
    if let Some(key) = key {
        match idempotency::begin(&state, &caller.api_key, key, &target, &caller.form) {
            Begin::Proceed => {}
            Begin::Replay(answer) => return (answer.response(), Some(answer.request_id)),
            Begin::Refuse(e) => return (render(&state, e, &caller.request_id), None),
        }
    }
    let fault = endpoint.and_then(|e| state.0.traffic.take_fault(e));
    let mut late = None;
    let (response, saved) = match (fault, endpoint) {
        (Some(fault @ (Fault::RateLimited { .. } | Fault::Status(_))), Some(endpoint)) => {
            let response = state.fault_response(endpoint, &fault, req.extensions());
            // A rate-limited request never began; a server error is saved like any answer.
            (response, matches!(fault, Fault::Status(_)))
        }
        (Some(Fault::Hang(wait)), _) => {
            tokio::time::sleep(wait).await;
            finish(&state, next.run(req).await, &caller.request_id)
        }
        (Some(Fault::Late(wait)), _) => {
            late = Some(wait);
            finish(&state, next.run(req).await, &caller.request_id)
        }
        _ => finish(&state, next.run(req).await, &caller.request_id),
    };
    let response = match key {
        Some(key) if saved => {
            let (parts, body) = response.into_parts();
            let body = to_bytes(body, MAX_ANSWER).await.unwrap_or_default();
            let answer = Answer {
                status: parts.status,
                body: body.clone(),
                request_id: caller.request_id.clone(),
            };
            idempotency::save(&state, &caller.api_key, key, answer);
            Response::from_parts(parts, body.into())
        }
        Some(key) => {
            idempotency::forget(&state, &caller.api_key, key);
            response
        }
        None => response,
    };
    if let Some(wait) = late {
        tokio::time::sleep(wait).await;
    }
    (response, None)
}

/// Renders an error a handler returned; says whether an idempotency key saves the answer.
fn finish(state: &StripeState, response: Response, request_id: &str) -> (Response, bool) {
    match response.extensions().get::<ApiError>() {
        Some(e) => (render(state, e.clone(), request_id), e.saved),
        None => (response, true),
    }
}

fn render(state: &StripeState, error: ApiError, request_id: &str) -> Response {
    error.render(Some(request_id), state.now_secs())
}

/// The headers Stripe puts on every answer.
fn decorate(
    mut response: Response,
    request_id: &str,
    version: &str,
    idempotency_key: Option<String>,
    original: Option<String>,
) -> Response {
    let replayed = original.is_some();
    let original = original.unwrap_or_else(|| request_id.to_owned());
    let mut pairs = vec![
        ("request-id", request_id.to_owned()),
        ("original-request", original),
        ("stripe-version", version.to_owned()),
        ("cache-control", "no-cache, no-store".to_owned()),
    ];
    if let Some(key) = idempotency_key {
        pairs.push(("idempotency-key", key));
    }
    if replayed {
        pairs.push(("idempotent-replayed", "true".to_owned()));
    }
    let headers = response.headers_mut();
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_must_look_like_stripes() {
        let with = |v: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert("stripe-version", HeaderValue::from_static(v));
            requested_version(&headers)
        };
        assert_eq!(
            with("2025-06-30.basil"),
            Ok(Some("2025-06-30.basil".into()))
        );
        assert_eq!(with("2020-08-27"), Ok(Some("2020-08-27".into())));
        for bad in ["latest", "2020-8-27", "2020-08-27.", "2020-08-27.Basil"] {
            assert!(with(bad).is_err(), "{bad}");
        }
        assert_eq!(requested_version(&HeaderMap::new()), Ok(None));
    }
}
