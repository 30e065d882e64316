//! chatcode account component: the caller's settings (`/api/account`), their API keys, and
//! deleting the account with everything it holds. A thin spin-sdk adapter: routing here, HTTP
//! mapping in the handler modules, SQL in `store`.

mod deletion;
mod keys;
mod settings;
mod store;

use chatcode_kit::router::{Routes, param};
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
        .route(Method::Get, "/api/account", |req, _| async move {
            settings::show(&req)
        })
        .route(Method::Patch, "/api/account", |req, _| async move {
            settings::update(&req)
        })
        .route(Method::Post, "/api/account/api-key", |req, _| async move {
            keys::create(&req)
        })
        .route(Method::Get, "/api/account/api-keys", |req, _| async move {
            keys::list(&req)
        })
        .route(
            Method::Delete,
            "/api/account/api-keys/:id",
            |req, params| async move { keys::revoke(&req, param(&params, "id")).await },
        )
        .route(Method::Post, "/api/account/delete", |req, _| {
            deletion::handle(req)
        });
    routes.handle(req).await
}
