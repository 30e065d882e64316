//! Stripe's error answers: `{"error": {"type", "code", "decline_code", "message", "param",
//! "doc_url", "request_log_url", "payment_intent", …}}` with the documented statuses.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

/// Where Stripe's API reference explains authentication (quoted in 401 messages).
const AUTH_DOCS: &str = "https://stripe.com/docs/api#authentication";

/// One error, before the gate adds the request's log URL and renders it (boxed: handlers
/// return it in `Result`s, which stay small).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError(Box<Fields>);

/// What an [`ApiError`] says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fields {
    pub status: StatusCode,
    /// `api_error`, `card_error`, `idempotency_error` or `invalid_request_error`.
    pub kind: &'static str,
    pub code: Option<&'static str>,
    pub decline_code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
    /// Objects the error carries (`payment_intent`, `setup_intent`, `payment_method`,
    /// `charge`), by field name.
    pub extra: Map<String, Value>,
    /// Whether an idempotency key saves this answer: not when the parameters fail validation
    /// (Stripe saves results only once an endpoint starts executing).
    pub saved: bool,
}

impl std::ops::Deref for ApiError {
    type Target = Fields;

    fn deref(&self) -> &Fields {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut Fields {
        &mut self.0
    }
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self(Box::new(Fields {
            status,
            kind,
            code: None,
            decline_code: None,
            message: message.into(),
            param: None,
            extra: Map::new(),
            saved: true,
        }))
    }

    /// A 400 `invalid_request_error`.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// A 402 `card_error`.
    pub(crate) fn card(
        code: &'static str,
        decline_code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        let mut e = Self::new(StatusCode::PAYMENT_REQUIRED, "card_error", message);
        e.code = Some(code);
        e.decline_code = Some(decline_code);
        e
    }

    /// A 400 `idempotency_error`.
    pub(crate) fn idempotency(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, "idempotency_error", message)
    }

    /// A server-side `api_error` with the given status (500, 502, 503, 504, 424).
    pub(crate) fn api(status: StatusCode) -> Self {
        Self::new(
            status,
            "api_error",
            "An unknown error occurred. Please try again later.",
        )
    }

    /// Sets the `code`.
    pub(crate) fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// Sets the `param`.
    pub(crate) fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// Adds an object the error carries (`payment_intent`, `payment_method`, …).
    pub(crate) fn with(mut self, field: &str, value: Value) -> Self {
        self.extra.insert(field.to_owned(), value);
        self
    }

    /// Marks the error as a validation failure: an idempotency key does not save it.
    pub(crate) fn unsaved(mut self) -> Self {
        self.saved = false;
        self
    }

    /// `Received unknown parameter: {param}` (`parameter_unknown`).
    pub(crate) fn unknown_parameter(param: &str) -> Self {
        Self::invalid(format!("Received unknown parameter: {param}"))
            .code("parameter_unknown")
            .param(param)
            .unsaved()
    }

    /// `Missing required param: {param}.` (`parameter_missing`).
    pub(crate) fn missing(param: &str) -> Self {
        Self::invalid(format!("Missing required param: {param}."))
            .code("parameter_missing")
            .param(param)
            .unsaved()
    }

    /// A 404 for an id in the path (`param: "id"`), or a 400 for one named by a parameter.
    pub(crate) fn no_such(what: &str, id: &str, param: &str) -> Self {
        let mut e = Self::invalid(format!("No such {what}: '{id}'"))
            .code("resource_missing")
            .param(param);
        if param == "id" {
            e.status = StatusCode::NOT_FOUND;
        }
        e
    }

    /// The 401 for a missing or wrong key.
    pub(crate) fn unauthorized(key: Option<&str>) -> Self {
        let message = match key {
            None => format!(
                "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See {AUTH_DOCS} for details, or we can help at https://support.stripe.com/."
            ),
            Some(key) => format!("Invalid API Key provided: {}", redact(key)),
        };
        Self::new(StatusCode::UNAUTHORIZED, "invalid_request_error", message)
    }

    /// The 404 for a path Stripe does not serve.
    pub(crate) fn unrecognized_url(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!(
                "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
            ),
        )
    }

    /// The 429 Stripe's rate limiter answers.
    pub(crate) fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "invalid_request_error",
            "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
        )
        .code("rate_limit")
    }

    /// The `error` object, with `request_log_url` when the request has an id.
    pub(crate) fn body(&self, request_id: Option<&str>, now: u64) -> Value {
        let mut error = Map::new();
        error.insert("type".into(), json!(self.kind));
        error.insert("message".into(), json!(self.message));
        if let Some(code) = self.code {
            error.insert("code".into(), json!(code));
            error.insert(
                "doc_url".into(),
                json!(format!(
                    "https://stripe.com/docs/error-codes/{}",
                    code.replace('_', "-")
                )),
            );
        }
        if let Some(decline) = self.decline_code {
            error.insert("decline_code".into(), json!(decline));
        }
        if let Some(param) = &self.param {
            error.insert("param".into(), json!(param));
        }
        if let Some(id) = request_id {
            error.insert(
                "request_log_url".into(),
                json!(format!(
                    "https://dashboard.stripe.com/test/logs/{id}?t={now}"
                )),
            );
        }
        error.extend(self.extra.clone());
        json!({ "error": error })
    }

    /// The `last_payment_error` / `last_setup_error` an intent keeps of this error.
    pub(crate) fn as_last_error(&self) -> Value {
        let mut error = self.body(None, 0)["error"].clone();
        if let Value::Object(map) = &mut error {
            map.remove("payment_intent");
            map.remove("setup_intent");
        }
        error
    }

    /// The rendered answer (the gate renders errors itself, with the request's id; this
    /// serves paths outside the gate).
    pub(crate) fn render(&self, request_id: Option<&str>, now: u64) -> Response {
        let mut response = json_response(self.status, &self.body(request_id, now));
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Stripe\""),
            );
        }
        response
    }
}

impl IntoResponse for ApiError {
    /// An empty answer carrying the error: the gate renders it with the request's id.
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// `sk_test_…abcd` shown as Stripe shows a wrong key: prefix, asterisks, last four.
fn redact(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let prefix = chars
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == '_')
        .take(2)
        .last()
        .map_or(0, |(i, _)| i + 1);
    let keep = chars.len().saturating_sub(4).max(prefix);
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < prefix || i >= keep { *c } else { '*' })
        .collect()
}

/// A JSON body with `application/json`.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_like_stripe() {
        assert_eq!(redact("sk_test_abcdefgh1234"), "sk_test_********1234");
        assert_eq!(redact("nope"), "nope");
        assert_eq!(redact("tok_abcdefgh1234"), "tok_********1234");
        assert_eq!(redact("short_key_1"), "short_key_1");
    }

    #[test]
    fn codes_get_doc_urls_and_params() {
        let body = ApiError::missing("amount").body(Some("req_1"), 7);
        let e = &body["error"];
        assert_eq!(e["type"], "invalid_request_error");
        assert_eq!(e["code"], "parameter_missing");
        assert_eq!(e["param"], "amount");
        assert_eq!(
            e["doc_url"],
            "https://stripe.com/docs/error-codes/parameter-missing"
        );
        assert_eq!(
            e["request_log_url"],
            "https://dashboard.stripe.com/test/logs/req_1?t=7"
        );
        assert_eq!(ApiError::no_such("customer", "cus_x", "id").status, 404);
        assert_eq!(
            ApiError::no_such("customer", "cus_x", "customer").status,
            400
        );
    }
}
