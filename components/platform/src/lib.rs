//! chatcode platform component: `GET /healthz`, `GET /api/openapi.json` (the API's description)
//! and `POST /internal/migrate` (schema migrations, hub only). A thin spin-sdk adapter: routing
//! here, HTTP mapping in `handlers`, storage in `service`.

mod handlers;
mod schema;
mod service;

use chatcode_kit::router::Routes;
use spin_sdk::http::{Method, Request, Response};

/// The component's entry point. Only wasm32 builds export it: the export's name is not a
/// valid symbol for host linkers, and host builds exist for tests and lints.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn handle(req: Request) -> Response {
    route(req).await
}

/// Routes one request.
pub async fn route(req: Request) -> Response {
    let mut routes = Routes::new(&req);
    routes
        .route(Method::Get, "/healthz", |_, _| async {
            handlers::healthz()
        })
        .route(Method::Get, "/api/openapi.json", |_, _| async {
            Ok(handlers::openapi())
        })
        .route(Method::Post, "/internal/migrate", |req, _| async move {
            handlers::migrate(&req)
        });
    routes.handle(req).await
}
