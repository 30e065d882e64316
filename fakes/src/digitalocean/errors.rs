//! DigitalOcean's error answers: API v2 `{"id","message","request_id"}`,
//! OAuth `{"error","error_description"}`, and the authorize error page.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde_json::json;

/// The message for `invalid_grant`, as DigitalOcean's OAuth guide shows it.
pub(crate) const INVALID_GRANT: &str = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";
/// The message for `invalid_client`.
pub(crate) const INVALID_CLIENT: &str = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.";

/// A JSON body with `application/json; charset=utf-8`.
pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// An API v2 error.
pub(crate) fn api_error(status: StatusCode, id: &str, message: &str, request_id: &str) -> Response {
    json_response(
        status,
        &json!({ "id": id, "message": message, "request_id": request_id }),
    )
}

/// The API's `id` and `message` for a status (used for injected faults).
pub(crate) fn api_status_text(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("bad_request", "The request was invalid."),
        401 => ("unauthorized", "Unable to authenticate you."),
        403 => (
            "forbidden",
            "You do not have access for the attempted action.",
        ),
        404 => (
            "not_found",
            "The resource you were accessing could not be found.",
        ),
        422 => (
            "unprocessable_entity",
            "The request could not be processed.",
        ),
        429 => ("too_many_requests", "API Rate limit exceeded."),
        503 => (
            "service_unavailable",
            "The service is temporarily unavailable.",
        ),
        _ => ("server_error", "Unexpected server-side error"),
    }
}

/// The 404 every unknown droplet, action or path gets.
pub(crate) fn not_found(request_id: &str) -> Response {
    let (id, message) = api_status_text(StatusCode::NOT_FOUND);
    api_error(StatusCode::NOT_FOUND, id, message, request_id)
}

/// A 422 with the given message.
pub(crate) fn unprocessable(message: &str, request_id: &str) -> Response {
    api_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable_entity",
        message,
        request_id,
    )
}

/// An OAuth error from `/token` or `/revoke` (never cached, per RFC 6749).
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    no_store(json_response(
        status,
        &json!({ "error": error, "error_description": description }),
    ))
}

/// The OAuth `error` code for a status (used for injected faults).
pub(crate) fn oauth_status_error(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => (
            "invalid_request",
            "The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed.",
        ),
        401 => ("invalid_client", INVALID_CLIENT),
        503 => (
            "temporarily_unavailable",
            "The authorization server is temporarily unable to handle the request.",
        ),
        _ => (
            "server_error",
            "The authorization server encountered an unexpected condition which prevented it from fulfilling the request.",
        ),
    }
}

/// Adds `cache-control: no-store` and `pragma: no-cache`.
pub(crate) fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The HTML error page `/authorize` shows instead of redirecting.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    (
        status,
        Html(format!(
            "<!DOCTYPE html><html><body><h1>An error has occurred</h1><p>{escaped}</p></body></html>"
        )),
    )
        .into_response()
}
