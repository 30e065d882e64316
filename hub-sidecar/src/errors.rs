//! The hub's HTTP errors, mapped to responses in one place: the app's JSON error shape
//! (`{"error": {"code", "message"}}`) with the right status.

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

/// Why an HTTP request to the hub failed.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// Missing or wrong credentials (gateway token, hub secret, ticket).
    #[error("{0}")]
    Unauthorized(String),
    /// A valid ticket for something else.
    #[error("{0}")]
    Forbidden(&'static str),
    /// A malformed request.
    #[error("{0}")]
    BadRequest(String),
    /// A body over the limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The gateway has no socket to the hub.
    #[error("the gateway is not connected")]
    GatewayOffline,
    /// The gateway did not answer in time.
    #[error("the gateway did not answer in time")]
    GatewayTimeout,
    /// The hub cannot take more work for this gateway, or the app is unreachable.
    #[error("{0}")]
    Unavailable(&'static str),
}

impl HubError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            HubError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            HubError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            HubError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            HubError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            HubError::GatewayOffline => (StatusCode::SERVICE_UNAVAILABLE, "gateway_offline"),
            HubError::GatewayTimeout => (StatusCode::GATEWAY_TIMEOUT, "gateway_timeout"),
            HubError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"),
        }
    }
}

impl HubError {
    /// The status and JSON body it answers with (another hub's relay passes them on).
    pub fn parts(&self) -> (u16, String) {
        let (status, code) = self.status_and_code();
        let body = json!({ "error": { "code": code, "message": self.to_string() } });
        (status.as_u16(), body.to_string())
    }
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let (status, body) = self.parts();
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response =
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
