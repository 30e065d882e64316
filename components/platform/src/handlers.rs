//! HTTP ↔ service: parse, authorise, call `service`, and map every failure to the JSON error
//! in one place ([`error_response`]).

use chatcode_core::migrations::MigrationError;
use chatcode_core::token::bearer_matches;
use chatcode_core::{ApiError, ErrorKind};
use serde_json::{Value, json};
use spin_sdk::http::{Params, Request, Response};

use crate::config::{self, Config};
use crate::schema::MIGRATIONS;
use crate::service;

/// `GET /healthz`: 200 when SQLite and key-value answer, else 503 naming the failed one.
pub fn healthz(_req: Request, _params: Params) -> Response {
    let health = service::health();
    let sqlite_ok = health.schema_version.is_some();
    let status = if sqlite_ok && health.key_value_ok {
        200
    } else {
        503
    };
    let body = json!({
        "app": "chatcode",
        "version": env!("CARGO_PKG_VERSION"),
        "environment": config::environment(),
        "schema_version": health.schema_version,
        "sqlite": if sqlite_ok { "ok" } else { "error" },
        "key_value": if health.key_value_ok { "ok" } else { "error" },
    });
    json_response(status, &body)
}

/// `POST /internal/migrate` (hub only): applies pending migrations.
pub fn migrate(req: Request, _params: Params) -> Response {
    let result = authorize(&req).and_then(|()| service::migrate(MIGRATIONS).map_err(api_error));
    match result {
        Ok(outcome) => {
            let applied: Vec<Value> = outcome
                .applied
                .iter()
                .map(|m| json!({ "version": m.version, "name": m.name }))
                .collect();
            json_response(
                200,
                &json!({ "applied": applied, "schema_version": outcome.schema_version }),
            )
        }
        Err(err) => error_response(&err),
    }
}

/// 405 for a known path, naming the allowed method.
pub fn method_not_allowed(allow: &str) -> Response {
    let mut response = error_response(&ApiError::method_not_allowed());
    response.set_header("allow", allow);
    response
}

/// 404 for any path this component does not serve.
pub fn not_found(_req: Request, _params: Params) -> Response {
    error_response(&ApiError::not_found("no such route"))
}

/// Internal routes require `Authorization: Bearer <hub_secret>`.
fn authorize(req: &Request) -> Result<(), ApiError> {
    let config = Config::load().map_err(|e| {
        eprintln!("migrate: cannot read variable hub_secret: {e:?}");
        ApiError::internal()
    })?;
    let header = req.header("authorization").and_then(|v| v.as_str());
    if bearer_matches(header, &config.hub_secret) {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

/// Maps a service failure to what the client may see; internal detail is only logged.
fn api_error(err: service::Error) -> ApiError {
    match err {
        service::Error::Conflict(conflict) => {
            eprintln!("migrate: {conflict}");
            match conflict {
                MigrationError::DuplicateVersion { .. } => ApiError::internal(),
                _ => ApiError::migration_conflict(conflict.to_string()),
            }
        }
        other => {
            eprintln!("migrate: {other}");
            ApiError::internal()
        }
    }
}

/// The one mapping from [`ApiError`] to a response.
pub fn error_response(err: &ApiError) -> Response {
    let mut builder = Response::builder();
    builder
        .status(err.status())
        .header("content-type", "application/json");
    if err.kind == ErrorKind::Unauthorized {
        builder.header("www-authenticate", "Bearer");
    }
    builder.body(err.to_json()).build()
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_string())
        .build()
}
