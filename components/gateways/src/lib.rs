//! chatcode gateways component: the routes the hub calls (bearer `hub_secret`): gateway
//! authentication, gateway and session events, and the periodic sweep. Every status it records
//! goes through `chatcode_kit::status`, the one writer of gateway and session status. A thin
//! spin-sdk adapter: routing here, HTTP mapping in the handler modules.

mod auth;
mod events;
mod sweep;

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
        .route(
            Method::Post,
            "/internal/gateways/auth",
            |req, _| async move { auth::handle(&req) },
        )
        .route(
            Method::Post,
            "/internal/gateways/:id/events",
            |req, params| async move { events::handle(&req, param(&params, "id")) },
        )
        .route(Method::Post, "/internal/sweep", |req, _| async move {
            sweep::handle(&req)
        });
    routes.handle(req).await
}
