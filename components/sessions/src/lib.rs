//! chatcode sessions component: a VPS's terminal sessions (list, create, end, snapshot) relayed
//! to its gateway through the hub, attach tickets for the browser's terminal socket, and the
//! gateway's other commands (SSH keys, agents, workspace) as routes on the VPS. A thin
//! spin-sdk adapter: routing here, HTTP mapping in the handler modules, SQL in `store`.

mod agents;
mod attach;
mod create;
mod gateway;
mod keys;
mod manage;
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
        .route(Method::Get, "/vps/:id/sessions", |req, params| async move {
            manage::list(&req, param(&params, "id"))
        })
        .route(
            Method::Post,
            "/vps/:id/sessions",
            |req, params| async move { create::handle(&req, param(&params, "id")).await },
        )
        .route(
            Method::Delete,
            "/vps/:id/sessions/:sid",
            |req, params| async move {
                manage::end(&req, param(&params, "id"), param(&params, "sid")).await
            },
        )
        .route(
            Method::Get,
            "/vps/:id/sessions/:sid/snapshot",
            |req, params| async move {
                manage::snapshot(&req, param(&params, "id"), param(&params, "sid")).await
            },
        )
        .route(
            Method::Post,
            "/vps/:id/sessions/:sid/attach",
            |req, params| async move {
                attach::handle(&req, param(&params, "id"), param(&params, "sid"))
            },
        )
        .route(Method::Get, "/vps/:id/ssh-keys", |req, params| async move {
            keys::list(&req, param(&params, "id")).await
        })
        .route(
            Method::Post,
            "/vps/:id/ssh-keys",
            |req, params| async move { keys::add(&req, param(&params, "id")).await },
        )
        .route(
            Method::Delete,
            "/vps/:id/ssh-keys",
            |req, params| async move { keys::revoke(&req, param(&params, "id")).await },
        )
        .route(Method::Get, "/vps/:id/agents", |req, params| async move {
            agents::list(&req, param(&params, "id")).await
        })
        .route(
            Method::Post,
            "/vps/:id/agents/install",
            |req, params| async move { agents::install(&req, param(&params, "id")).await },
        )
        .route(
            Method::Get,
            "/vps/:id/workspace",
            |req, params| async move { agents::workspace(&req, param(&params, "id")).await },
        );
    routes.handle(req).await
}
