//! Responses: JSON bodies, redirects, and the one mapping from [`ApiError`].
//!
//! spin-sdk 5.2 responses carry one value per header name, so a response can
//! set at most one cookie: the helpers take an `Option`, not a list.

use chatcode_core::{ApiError, ErrorKind};
use serde::Serialize;
use spin_sdk::http::Response;

/// What a handler returns: a response, or the error to answer with.
pub type Reply = Result<Response, ApiError>;

/// The response for an error: its status and the JSON body of DESIGN.md.
pub fn error(err: &ApiError) -> Response {
    let mut builder = Response::builder();
    builder
        .status(err.status())
        .header("content-type", "application/json")
        .header("cache-control", "no-store");
    if err.kind == ErrorKind::Unauthorized {
        builder.header("www-authenticate", "Bearer");
    }
    if let Some(seconds) = err.retry_after {
        builder.header("retry-after", seconds.to_string());
    }
    builder.body(err.to_json()).build()
}

/// Turns a handler's result into the response to send.
pub fn finish(reply: Reply) -> Response {
    reply.unwrap_or_else(|err| error(&err))
}

/// A JSON response.
pub fn json(status: u16, body: &impl Serialize) -> Reply {
    json_setting(status, body, None)
}

/// A JSON response that also sets `cookie`.
pub fn json_setting(status: u16, body: &impl Serialize, cookie: Option<String>) -> Reply {
    let body = serde_json::to_string(body).map_err(|e| {
        eprintln!("serializing a response: {e}");
        ApiError::internal()
    })?;
    let mut builder = Response::builder();
    builder
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store");
    if let Some(cookie) = cookie {
        builder.header("set-cookie", cookie);
    }
    Ok(builder.body(body).build())
}

/// A 302 redirect, setting `cookie`.
pub fn redirect(location: &str, cookie: Option<String>) -> Response {
    let mut builder = Response::builder();
    builder
        .status(302)
        .header("location", location)
        .header("cache-control", "no-store");
    if let Some(cookie) = cookie {
        builder.header("set-cookie", cookie);
    }
    builder.body(Vec::new()).build()
}

/// A 204, setting `cookie`.
pub fn no_content(cookie: Option<String>) -> Response {
    let mut builder = Response::builder();
    builder.status(204);
    if let Some(cookie) = cookie {
        builder.header("set-cookie", cookie);
    }
    builder.body(Vec::new()).build()
}

/// Parses a JSON request body of at most `limit` bytes.
pub fn parse_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    limit: usize,
) -> Result<T, ApiError> {
    if body.len() > limit {
        return Err(ApiError::payload_too_large());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}
