//! The one JSON error of the HTTP API: `{"error":{"code":"not_found","message":"…"}}` plus its
//! status. Every component maps its failures to a response through [`ApiError`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// What went wrong, as the client sees it: decides the status and the `code` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 400: malformed request (bad JSON, missing field, invalid id).
    BadRequest,
    /// 401: no valid credentials.
    Unauthorized,
    /// 402: the action needs credits or a payment that did not go through (`insufficient_credits`,
    /// a card error's code such as `card_declined`, `authentication_required`).
    PaymentRequired,
    /// 403: authenticated but not allowed.
    Forbidden,
    /// 404: no such resource, or one the caller does not own.
    NotFound,
    /// 405: the path exists but not for this method.
    MethodNotAllowed,
    /// 409: the request conflicts with the current state.
    Conflict,
    /// 409: the action needs a DigitalOcean connection the user has not made.
    DoNotConnected,
    /// 409: the VPS's gateway is not connected to the hub.
    GatewayOffline,
    /// 409: the database holds a migration this build does not have, or one that was modified.
    MigrationConflict,
    /// 413: the request body is too large.
    PayloadTooLarge,
    /// 422: well-formed but semantically invalid.
    Unprocessable,
    /// 429: rate limited.
    TooManyRequests,
    /// 500: a bug or an unexpected failure; details are only logged.
    Internal,
    /// 502: an upstream service (DigitalOcean, GitHub, Stripe, the hub) failed.
    BadGateway,
    /// 503: a dependency (database, store, gateway) is unavailable right now.
    ServiceUnavailable,
    /// 504: an upstream (e.g. a gateway awaiting an ack) did not answer in time.
    GatewayTimeout,
}

impl ErrorKind {
    /// Every kind (the error body's `code` enum in `openapi/openapi.json` lists exactly these).
    pub const ALL: [ErrorKind; 17] = [
        ErrorKind::BadRequest,
        ErrorKind::Unauthorized,
        ErrorKind::PaymentRequired,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::MethodNotAllowed,
        ErrorKind::Conflict,
        ErrorKind::DoNotConnected,
        ErrorKind::GatewayOffline,
        ErrorKind::MigrationConflict,
        ErrorKind::PayloadTooLarge,
        ErrorKind::Unprocessable,
        ErrorKind::TooManyRequests,
        ErrorKind::Internal,
        ErrorKind::BadGateway,
        ErrorKind::ServiceUnavailable,
        ErrorKind::GatewayTimeout,
    ];

    /// The HTTP status code.
    pub const fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::PaymentRequired => 402,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::Conflict
            | ErrorKind::DoNotConnected
            | ErrorKind::GatewayOffline
            | ErrorKind::MigrationConflict => 409,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::Unprocessable => 422,
            ErrorKind::TooManyRequests => 429,
            ErrorKind::Internal => 500,
            ErrorKind::BadGateway => 502,
            ErrorKind::ServiceUnavailable => 503,
            ErrorKind::GatewayTimeout => 504,
        }
    }

    /// The stable snake_case `code` of the JSON body.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::PaymentRequired => "payment_required",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::Conflict => "conflict",
            ErrorKind::DoNotConnected => "do_not_connected",
            ErrorKind::GatewayOffline => "gateway_offline",
            ErrorKind::MigrationConflict => "migration_conflict",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::Unprocessable => "unprocessable",
            ErrorKind::TooManyRequests => "too_many_requests",
            ErrorKind::Internal => "internal",
            ErrorKind::BadGateway => "bad_gateway",
            ErrorKind::ServiceUnavailable => "service_unavailable",
            ErrorKind::GatewayTimeout => "gateway_timeout",
        }
    }

    /// A generic message that reveals nothing about the cause.
    pub const fn default_message(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad request",
            ErrorKind::Unauthorized => "missing or invalid credentials",
            ErrorKind::PaymentRequired => "payment required",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not found",
            ErrorKind::MethodNotAllowed => "method not allowed",
            ErrorKind::Conflict => "conflict",
            ErrorKind::DoNotConnected => "connect DigitalOcean first",
            ErrorKind::GatewayOffline => "the VPS's gateway is not connected",
            ErrorKind::MigrationConflict => "database schema conflicts with this build",
            ErrorKind::PayloadTooLarge => "request body too large",
            ErrorKind::Unprocessable => "unprocessable request",
            ErrorKind::TooManyRequests => "too many requests",
            ErrorKind::Internal => "internal error",
            ErrorKind::BadGateway => "upstream service failed",
            ErrorKind::ServiceUnavailable => "service unavailable",
            ErrorKind::GatewayTimeout => "upstream did not answer in time",
        }
    }

    /// Whether this is a 5xx error, whose message must never carry internal detail.
    pub const fn is_server_error(self) -> bool {
        self.status() >= 500
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An error answered to a client: a kind plus a message meant for that client.
///
/// The message is sent as is. Constructors for 5xx kinds take no message and use the kind's
/// generic one; log the cause (`eprintln!`) where it happens instead of putting it here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Decides the status and `code`.
    pub kind: ErrorKind,
    /// Human-readable, client-safe explanation.
    pub message: Cow<'static, str>,
    /// Per-field problems of a rejected body (`"fields": {"region": "…"}` in the JSON).
    pub fields: BTreeMap<String, String>,
    /// Seconds the client should wait before retrying (the `Retry-After` header).
    pub retry_after: Option<u64>,
    /// A more precise `code` than the kind's (`insufficient_credits` for a 402), if any.
    pub code: Option<Cow<'static, str>>,
    /// More members of the `error` object, for a client that must act on them (the decline
    /// code of a card error, the PaymentIntent to confirm on-session).
    pub details: BTreeMap<String, serde_json::Value>,
}

impl ApiError {
    /// An error of `kind` with a client-facing `message` (sent verbatim: never put internal
    /// detail here; for 5xx prefer [`ApiError::from_kind`] or the fixed constructors).
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            kind,
            message: message.into(),
            fields: BTreeMap::new(),
            retry_after: None,
            code: None,
            details: BTreeMap::new(),
        }
    }

    /// An error of `kind` with its generic message.
    pub const fn from_kind(kind: ErrorKind) -> Self {
        ApiError {
            kind,
            message: Cow::Borrowed(kind.default_message()),
            fields: BTreeMap::new(),
            retry_after: None,
            code: None,
            details: BTreeMap::new(),
        }
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }

    /// 401 with the generic message.
    pub const fn unauthorized() -> Self {
        Self::from_kind(ErrorKind::Unauthorized)
    }

    /// 402 with a precise `code` (`insufficient_credits`, `card_declined`, …) and a message.
    pub fn payment_required(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(ErrorKind::PaymentRequired, message).with_code(code)
    }

    /// 403 with a message.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    /// 404 with a message.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// 405 with the generic message.
    pub const fn method_not_allowed() -> Self {
        Self::from_kind(ErrorKind::MethodNotAllowed)
    }

    /// 409 with a message.
    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// 409 `migration_conflict` with a message naming the migration.
    pub fn migration_conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::MigrationConflict, message)
    }

    /// 409 `do_not_connected`: the user must connect DigitalOcean first.
    pub const fn do_not_connected() -> Self {
        Self::from_kind(ErrorKind::DoNotConnected)
    }

    /// 422 listing what is wrong with each field of a request body.
    pub fn invalid_fields(fields: BTreeMap<String, String>) -> Self {
        let mut err = Self::unprocessable("the request has invalid fields");
        err.fields = fields;
        err
    }

    /// The same error with a more precise `code` than its kind's (snake_case, stable).
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// The same error with one more member in its `error` object (never `code`, `message` or
    /// `fields`, which the error owns).
    pub fn with_detail(mut self, name: &str, value: serde_json::Value) -> Self {
        if !matches!(name, "code" | "message" | "fields") {
            self.details.insert(name.to_owned(), value);
        }
        self
    }

    /// The same error, asking the client to retry after `seconds`.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// 413 with the generic message.
    pub const fn payload_too_large() -> Self {
        Self::from_kind(ErrorKind::PayloadTooLarge)
    }

    /// 422 with a message.
    pub fn unprocessable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unprocessable, message)
    }

    /// 429 with the generic message.
    pub const fn too_many_requests() -> Self {
        Self::from_kind(ErrorKind::TooManyRequests)
    }

    /// 500 with a fixed generic message.
    pub const fn internal() -> Self {
        Self::from_kind(ErrorKind::Internal)
    }

    /// 502 with a fixed generic message.
    pub const fn bad_gateway() -> Self {
        Self::from_kind(ErrorKind::BadGateway)
    }

    /// 503 with a fixed generic message.
    pub const fn service_unavailable() -> Self {
        Self::from_kind(ErrorKind::ServiceUnavailable)
    }

    /// 504 with a fixed generic message.
    pub const fn gateway_timeout() -> Self {
        Self::from_kind(ErrorKind::GatewayTimeout)
    }

    /// The HTTP status code.
    pub const fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The snake_case `code`: the precise one if set, else the kind's.
    pub fn code(&self) -> &str {
        self.code.as_deref().unwrap_or(self.kind.code())
    }

    /// The response body: `{"error":{"code":"…","message":"…"}}`, plus `"fields"` when
    /// individual fields were rejected and any details.
    pub fn to_json(&self) -> String {
        let mut error = serde_json::json!({ "code": self.code(), "message": self.message });
        if !self.fields.is_empty() {
            error["fields"] = serde_json::json!(self.fields);
        }
        for (name, value) in &self.details {
            error[name.as_str()] = value.clone();
        }
        serde_json::json!({ "error": error }).to_string()
    }
}

impl From<ErrorKind> for ApiError {
    fn from(kind: ErrorKind) -> Self {
        ApiError::from_kind(kind)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code(), self.status(), self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const ALL: [ErrorKind; 17] = ErrorKind::ALL;

    #[test]
    fn body_shape() {
        let body: Value = serde_json::from_str(&ApiError::not_found("no such vps").to_json())
            .expect("valid JSON");
        assert_eq!(
            body,
            json!({"error": {"code": "not_found", "message": "no such vps"}})
        );
    }

    #[test]
    fn field_errors_are_listed() {
        let fields = BTreeMap::from([("region".to_owned(), "unknown region".to_owned())]);
        let body: Value =
            serde_json::from_str(&ApiError::invalid_fields(fields).to_json()).expect("valid JSON");
        assert_eq!(body["error"]["code"], "unprocessable");
        assert_eq!(body["error"]["fields"], json!({"region": "unknown region"}));
    }

    #[test]
    fn do_not_connected_is_a_conflict() {
        let err = ApiError::do_not_connected();
        assert_eq!((err.status(), err.code()), (409, "do_not_connected"));
        assert_eq!(err.message, "connect DigitalOcean first");
    }

    #[test]
    fn messages_are_escaped() {
        let err = ApiError::bad_request("bad \"quote\" \\ and\nnewline");
        let body: Value = serde_json::from_str(&err.to_json()).expect("valid JSON");
        assert_eq!(body["error"]["message"], "bad \"quote\" \\ and\nnewline");
    }

    #[test]
    fn statuses_and_codes() {
        assert_eq!(ApiError::bad_request("x").status(), 400);
        assert_eq!(ApiError::unauthorized().status(), 401);
        assert_eq!(ApiError::forbidden("x").status(), 403);
        assert_eq!(ApiError::not_found("x").status(), 404);
        assert_eq!(ApiError::method_not_allowed().status(), 405);
        assert_eq!(ApiError::conflict("x").status(), 409);
        assert_eq!(
            ApiError::migration_conflict("x").code(),
            "migration_conflict"
        );
        assert_eq!(ApiError::migration_conflict("x").status(), 409);
        assert_eq!(ApiError::payload_too_large().status(), 413);
        assert_eq!(ApiError::unprocessable("x").status(), 422);
        assert_eq!(ApiError::too_many_requests().status(), 429);
        assert_eq!(ApiError::internal().status(), 500);
        assert_eq!(ApiError::bad_gateway().status(), 502);
        assert_eq!(ApiError::service_unavailable().status(), 503);
        assert_eq!(ApiError::gateway_timeout().status(), 504);
    }

    #[test]
    fn codes_are_unique_snake_case() {
        let mut codes: Vec<_> = ALL.iter().map(|k| k.code()).collect();
        for code in &codes {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ALL.len());
    }

    #[test]
    fn server_errors_carry_generic_messages() {
        for kind in ALL.into_iter().filter(|k| k.is_server_error()) {
            let err = ApiError::from(kind);
            assert_eq!(err.message, kind.default_message());
        }
        assert_eq!(ApiError::internal().message, "internal error");
        assert!(!ErrorKind::NotFound.is_server_error());
        assert!(ErrorKind::Internal.is_server_error());
    }

    #[test]
    fn payment_errors_carry_their_own_code_and_details() {
        let err = ApiError::payment_required("card_declined", "Your card was declined.")
            .with_detail("decline_code", json!("insufficient_funds"))
            .with_detail("code", json!("overwritten?"));
        assert_eq!((err.status(), err.code()), (402, "card_declined"));
        let body: Value = serde_json::from_str(&err.to_json()).expect("valid JSON");
        assert_eq!(
            body,
            json!({"error": {
                "code": "card_declined",
                "message": "Your card was declined.",
                "decline_code": "insufficient_funds",
            }})
        );
        assert_eq!(
            ApiError::from(ErrorKind::PaymentRequired).code(),
            "payment_required"
        );
        assert_eq!(
            ApiError::bad_request("x")
                .with_code("invalid_signature")
                .to_string(),
            "invalid_signature (400): x"
        );
    }

    #[test]
    fn display_names_code_and_status() {
        assert_eq!(
            ApiError::conflict("taken").to_string(),
            "conflict (409): taken"
        );
    }
}
