//! chatcode vps component: a user's VPSes on DigitalOcean (create with gateway credentials
//! in cloud-init, list, detail, power, delete) and the internal routes the hub calls for
//! gateways (authenticate, record events, sweep). A thin spin-sdk adapter: routing here,
//! HTTP mapping in the handler modules, SQL in `store`.

mod create;
mod hub;
mod manage;
mod options;
mod settings;
mod store;
mod view;

use chatcode_core::ApiError;
use chatcode_kit::respond;
use spin_sdk::http::{Params, Request, Response, Router};

/// The component's entry point. Only wasm32 builds export it: the export's name is not a
/// valid symbol for host linkers, and host builds exist for tests and lints.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn handle(req: Request) -> Response {
    route(req).await
}

/// Every route this component serves, with its method.
const ROUTES: [&str; 8] = [
    "/vps",
    "/vps/options",
    "/vps/:id",
    "/vps/:id/power-off",
    "/vps/:id/power-on",
    "/internal/gateways/auth",
    "/internal/gateways/:id/events",
    "/internal/sweep",
];

/// Routes one request; other methods on known paths answer 405.
pub async fn route(req: Request) -> Response {
    let mut router = Router::new();
    router.get("/vps", |req: Request, _| respond::finish(view::list(&req)));
    router.post_async("/vps", |req: Request, _| async move {
        respond::finish(create::handle(req).await)
    });
    router.get_async("/vps/options", |req: Request, _| async move {
        respond::finish(options::handle(&req).await)
    });
    router.get_async("/vps/:id", |req: Request, params: Params| async move {
        respond::finish(view::detail(&req, id(&params)).await)
    });
    router.delete_async("/vps/:id", |req: Request, params: Params| async move {
        respond::finish(manage::delete(&req, id(&params)).await)
    });
    router.post_async(
        "/vps/:id/power-off",
        |req: Request, params: Params| async move {
            respond::finish(
                manage::power(&req, id(&params), chatcode_core::vps::PowerAction::Off).await,
            )
        },
    );
    router.post_async(
        "/vps/:id/power-on",
        |req: Request, params: Params| async move {
            respond::finish(
                manage::power(&req, id(&params), chatcode_core::vps::PowerAction::On).await,
            )
        },
    );
    router.post("/internal/gateways/auth", |req: Request, _| {
        respond::finish(hub::gateway_auth::handle(&req))
    });
    router.post(
        "/internal/gateways/:id/events",
        |req: Request, params: Params| respond::finish(hub::events::handle(&req, id(&params))),
    );
    router.post("/internal/sweep", |req: Request, _| {
        respond::finish(hub::sweep::handle(&req))
    });
    for path in ROUTES {
        router.any(path, method_not_allowed);
    }
    router.any("/*", |_: Request, _| {
        respond::error(&ApiError::not_found("no such route"))
    });
    router.handle_async(req).await
}

/// The `:id` of a matched route (the router only matches when it is present).
fn id(params: &Params) -> &str {
    params.get("id").unwrap_or_default()
}

fn method_not_allowed(_req: Request, _params: Params) -> Response {
    respond::error(&ApiError::method_not_allowed())
}
