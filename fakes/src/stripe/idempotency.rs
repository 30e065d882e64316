//! `Idempotency-Key`: the first answer to a key (status and body, even a 500) is replayed for
//! the same endpoint and parameters; anything else under that key is an `idempotency_error`.
//! Keys are scoped per API key and kept 24 hours.

use axum::{
    body::{Body, Bytes},
    http::{HeaderValue, StatusCode, header},
    response::Response,
};

use super::{errors::ApiError, form::Form, state::StripeState};

/// Longest key Stripe accepts.
pub(crate) const MAX_KEY_LEN: usize = 255;
/// Stripe prunes keys once they are at least 24 hours old.
const KEY_LIFETIME_MS: u64 = 24 * 3600 * 1000;

/// What the first request under a key did.
#[derive(Debug, Clone)]
pub(crate) struct Saved {
    /// `POST /v1/customers`: the endpoint (with its ids) the key was first used on.
    pub target: String,
    pub form: Form,
    pub created_ms: u64,
    /// `None` while that first request is still running.
    pub answer: Option<Answer>,
}

/// A saved answer.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
    /// The `Request-Id` of the first request (`Original-Request` on replays).
    pub request_id: String,
}

impl Answer {
    pub(crate) fn response(&self) -> Response {
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.status_mut() = self.status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// What the gate does with a request carrying a key.
#[derive(Debug)]
pub(crate) enum Begin {
    /// First use (or the old one expired): run it, then [`save`] or [`forget`].
    Proceed,
    /// Same endpoint, same parameters, answered before.
    Replay(Answer),
    /// Reused for something else, or the first request is still running.
    Refuse(ApiError),
}

/// The 400 for a key longer than Stripe allows (or empty).
pub(crate) fn check_length(key: &str) -> Result<(), ApiError> {
    let len = key.chars().count();
    if (1..=MAX_KEY_LEN).contains(&len) {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "Idempotent key length is {len}, which is outside accepted lengths. Idempotent Keys must be 1-{MAX_KEY_LEN} characters long. If you're looking for a decent generator, try using a UUID defined by IETF RFC 4122."
    ))
    .unsaved())
}

/// Looks the key up for `api_key`; a first use is marked as running.
pub(crate) fn begin(
    state: &StripeState,
    api_key: &str,
    key: &str,
    target: &str,
    form: &Form,
) -> Begin {
    let now = state.now_ms();
    let id = (api_key.to_owned(), key.to_owned());
    let mut inner = state.lock();
    if let Some(saved) = inner.idempotency.get(&id)
        && now < saved.created_ms.saturating_add(KEY_LIFETIME_MS)
    {
        if saved.target != target {
            return Begin::Refuse(ApiError::idempotency(
                StatusCode::BAD_REQUEST,
                format!(
                    "Keys for idempotent requests can only be used for the same endpoint they were first used for ('{}' vs '{target}'). Try using a key other than '{key}' if you meant to execute a different request.",
                    saved.target
                ),
            ));
        }
        if saved.form != *form {
            return Begin::Refuse(ApiError::idempotency(
                StatusCode::BAD_REQUEST,
                format!(
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                ),
            ));
        }
        return match &saved.answer {
            Some(answer) => Begin::Replay(answer.clone()),
            None => Begin::Refuse(ApiError::idempotency(
                StatusCode::CONFLICT,
                format!(
                    "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): {key}. Please try again later."
                ),
            )),
        };
    }
    inner.idempotency.insert(
        id,
        Saved {
            target: target.to_owned(),
            form: form.clone(),
            created_ms: now,
            answer: None,
        },
    );
    Begin::Proceed
}

/// Saves the first answer under the key.
pub(crate) fn save(state: &StripeState, api_key: &str, key: &str, answer: Answer) {
    let id = (api_key.to_owned(), key.to_owned());
    if let Some(saved) = state.lock().idempotency.get_mut(&id) {
        saved.answer = Some(answer);
    }
}

/// Drops a key whose request never began executing (it failed validation, or was rate
/// limited): a retry runs afresh.
pub(crate) fn forget(state: &StripeState, api_key: &str, key: &str) {
    let id = (api_key.to_owned(), key.to_owned());
    state.lock().idempotency.remove(&id);
}
