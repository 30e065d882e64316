//! HTTP ↔ service: parse, authorise, call `service`, answer JSON; failures are the shared
//! JSON error.

use chatcode_kit::{Reply, config, internal, respond};
use serde_json::{Value, json};
use spin_sdk::http::{Request, Response};

use crate::schema::MIGRATIONS;
use crate::service;

/// `GET /healthz`: 200 when SQLite and key-value answer, else 503 naming the failed one.
pub fn healthz() -> Reply {
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
        "environment": config::optional("environment"),
        "schema_version": health.schema_version,
        "sqlite": if sqlite_ok { "ok" } else { "error" },
        "key_value": if health.key_value_ok { "ok" } else { "error" },
    });
    respond::json(status, &body)
}

/// The OpenAPI 3.1 description of the whole HTTP API, compiled in (`tests/openapi.rs` keeps
/// it in step with `spin.toml` and every component's routes).
pub const OPENAPI: &str = include_str!("../../../openapi/openapi.json");

/// `GET /api/openapi.json`: [`OPENAPI`], revalidated on every use so a deploy shows at once.
pub fn openapi() -> Response {
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("cache-control", "no-cache")
        .body(OPENAPI)
        .build()
}

/// `POST /internal/migrate` (hub only): applies pending migrations.
pub fn migrate(req: &Request) -> Reply {
    internal::require_hub(req)?;
    let outcome = service::migrate(MIGRATIONS)?;
    let applied: Vec<Value> = outcome
        .applied
        .iter()
        .map(|m| json!({ "version": m.version, "name": m.name }))
        .collect();
    respond::json(
        200,
        &json!({ "applied": applied, "schema_version": outcome.schema_version }),
    )
}
