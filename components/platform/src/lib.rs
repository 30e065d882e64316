//! chatcode platform component: `GET /healthz` and `POST /internal/migrate` (schema migrations,
//! hub only). A thin spin-sdk adapter: routing here, HTTP mapping in `handlers`, storage in
//! `service`.

mod config;
mod handlers;
mod schema;
mod service;

use spin_sdk::http::{Request, Response, Router};

/// The component's entry point. Only wasm32 builds export it: the export's name is not a
/// valid symbol for host linkers, and host builds exist for tests and lints.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn handle(req: Request) -> Response {
    route(req).await
}

/// Routes one request. Other methods on known paths answer 405, unknown paths 404, both as
/// the JSON error.
pub async fn route(req: Request) -> Response {
    let mut router = Router::new();
    router.get("/healthz", handlers::healthz);
    router.any("/healthz", |_: Request, _| {
        handlers::method_not_allowed("GET")
    });
    router.post("/internal/migrate", handlers::migrate);
    router.any("/internal/migrate", |_: Request, _| {
        handlers::method_not_allowed("POST")
    });
    router.any("*", handlers::not_found);
    router.handle_async(req).await
}
