//! chatcode vps component: a user's VPSes on DigitalOcean (create with gateway credentials
//! in cloud-init, list, detail, power, delete). The hub's gateway routes are the `gateways`
//! component's. A thin spin-sdk adapter: routing here, HTTP mapping in the handler modules,
//! SQL in `store`.

mod create;
mod manage;
mod options;
mod settings;
mod store;
mod view;

use chatcode_core::vps::PowerAction;
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
            Method::Get,
            "/vps",
            |req, _| async move { view::list(&req) },
        )
        .route(Method::Post, "/vps", |req, _| create::handle(req))
        .route(Method::Get, "/vps/options", |req, _| async move {
            options::handle(&req).await
        })
        .route(Method::Get, "/vps/:id", |req, params| async move {
            view::detail(&req, param(&params, "id")).await
        })
        .route(Method::Delete, "/vps/:id", |req, params| async move {
            manage::delete(&req, param(&params, "id")).await
        })
        .route(
            Method::Post,
            "/vps/:id/power-off",
            |req, params| async move {
                manage::power(&req, param(&params, "id"), PowerAction::Off).await
            },
        )
        .route(
            Method::Post,
            "/vps/:id/power-on",
            |req, params| async move {
                manage::power(&req, param(&params, "id"), PowerAction::On).await
            },
        );
    routes.handle(req).await
}
