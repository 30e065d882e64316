//! chatcode gateways component: the routes the hub calls (bearer `hub_secret`): gateway
//! authentication, gateway and session events, and the periodic sweep. Every status it records
//! goes through `chatcode_kit::status`, the one writer of gateway and session status. A thin
//! spin-sdk adapter: routing here, HTTP mapping in the handler modules.

mod auth;
mod events;
mod sweep;

use chatcode_core::ApiError;
use chatcode_kit::respond;
use spin_sdk::http::{Params, Request, Response, Router};

/// The component's entry point. Only wasm32 builds export it: the export's name is not a
/// valid symbol for host linkers, and host builds exist for tests and lints.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn handle(req: Request) -> Response {
    route(req)
}

/// Every route this component serves, with its method.
const ROUTES: [&str; 3] = [
    "/internal/gateways/auth",
    "/internal/gateways/:id/events",
    "/internal/sweep",
];

/// Routes one request; other methods on known paths answer 405.
pub fn route(req: Request) -> Response {
    let mut router = Router::new();
    router.post("/internal/gateways/auth", |req: Request, _| {
        respond::finish(auth::handle(&req))
    });
    router.post(
        "/internal/gateways/:id/events",
        |req: Request, params: Params| {
            respond::finish(events::handle(&req, params.get("id").unwrap_or_default()))
        },
    );
    router.post("/internal/sweep", |req: Request, _| {
        respond::finish(sweep::handle(&req))
    });
    for path in ROUTES {
        router.any(path, method_not_allowed);
    }
    router.any("/*", |_: Request, _| {
        respond::error(&ApiError::not_found("no such route"))
    });
    router.handle(req)
}

fn method_not_allowed(_req: Request, _params: Params) -> Response {
    respond::error(&ApiError::method_not_allowed())
}
