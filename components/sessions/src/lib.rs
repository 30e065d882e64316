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
    "/vps/:id/sessions",
    "/vps/:id/sessions/:sid",
    "/vps/:id/sessions/:sid/snapshot",
    "/vps/:id/sessions/:sid/attach",
    "/vps/:id/ssh-keys",
    "/vps/:id/agents",
    "/vps/:id/agents/install",
    "/vps/:id/workspace",
];

/// Routes one request; other methods on known paths answer 405.
pub async fn route(req: Request) -> Response {
    let mut router = Router::new();
    router.get("/vps/:id/sessions", |req: Request, params: Params| {
        respond::finish(manage::list(&req, param(&params, "id")))
    });
    router.post_async(
        "/vps/:id/sessions",
        |req: Request, params: Params| async move {
            respond::finish(create::handle(&req, param(&params, "id")).await)
        },
    );
    router.delete_async(
        "/vps/:id/sessions/:sid",
        |req: Request, params: Params| async move {
            respond::finish(manage::end(&req, param(&params, "id"), param(&params, "sid")).await)
        },
    );
    router.get_async(
        "/vps/:id/sessions/:sid/snapshot",
        |req: Request, params: Params| async move {
            respond::finish(
                manage::snapshot(&req, param(&params, "id"), param(&params, "sid")).await,
            )
        },
    );
    router.post(
        "/vps/:id/sessions/:sid/attach",
        |req: Request, params: Params| {
            respond::finish(attach::handle(
                &req,
                param(&params, "id"),
                param(&params, "sid"),
            ))
        },
    );
    router.get_async(
        "/vps/:id/ssh-keys",
        |req: Request, params: Params| async move {
            respond::finish(keys::list(&req, param(&params, "id")).await)
        },
    );
    router.post_async(
        "/vps/:id/ssh-keys",
        |req: Request, params: Params| async move {
            respond::finish(keys::add(&req, param(&params, "id")).await)
        },
    );
    router.delete_async(
        "/vps/:id/ssh-keys",
        |req: Request, params: Params| async move {
            respond::finish(keys::revoke(&req, param(&params, "id")).await)
        },
    );
    router.get_async(
        "/vps/:id/agents",
        |req: Request, params: Params| async move {
            respond::finish(agents::list(&req, param(&params, "id")).await)
        },
    );
    router.post_async(
        "/vps/:id/agents/install",
        |req: Request, params: Params| async move {
            respond::finish(agents::install(&req, param(&params, "id")).await)
        },
    );
    router.get_async(
        "/vps/:id/workspace",
        |req: Request, params: Params| async move {
            respond::finish(agents::workspace(&req, param(&params, "id")).await)
        },
    );
    for path in ROUTES {
        router.any(path, method_not_allowed);
    }
    router.any("/*", |_: Request, _| {
        respond::error(&ApiError::not_found("no such route"))
    });
    router.handle_async(req).await
}

/// A matched route's parameter (the router only matches when it is present).
fn param<'a>(params: &'a Params, name: &str) -> &'a str {
    params.get(name).unwrap_or_default()
}

fn method_not_allowed(_req: Request, _params: Params) -> Response {
    respond::error(&ApiError::method_not_allowed())
}
