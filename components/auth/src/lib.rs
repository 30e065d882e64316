//! chatcode auth component: browser sessions, DigitalOcean and GitHub sign-in,
//! development login, the signed-in user, and sign-out. A thin spin-sdk
//! adapter: routing here, HTTP mapping in the handler modules, SQL in `users`.

mod config;
mod dev_login;
mod digitalocean;
mod flow;
mod github;
mod me;
mod provider;
mod sign_out;
mod users;

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
const ROUTES: [&str; 9] = [
    "/auth/do",
    "/auth/do/callback",
    "/auth/do/disconnect",
    "/auth/dev/login",
    "/api/auth/github/start",
    "/api/auth/github/callback",
    "/api/auth/logout",
    "/api/auth/logout-all",
    "/api/me",
];

/// Routes one request; other methods on known paths answer 405.
pub async fn route(req: Request) -> Response {
    let mut router = Router::new();
    router.get("/auth/do", |req: Request, _| {
        respond::finish(digitalocean::start(&req))
    });
    router.get_async("/auth/do/callback", |req: Request, _| async move {
        respond::finish(digitalocean::callback(req).await)
    });
    router.post_async("/auth/do/disconnect", |req: Request, _| async move {
        respond::finish(digitalocean::disconnect(req).await)
    });
    router.post("/auth/dev/login", |req: Request, _| {
        respond::finish(dev_login::handle(&req))
    });
    router.get("/api/auth/github/start", |req: Request, _| {
        respond::finish(github::start(&req))
    });
    router.get_async("/api/auth/github/callback", |req: Request, _| async move {
        respond::finish(github::callback(req).await)
    });
    router.post_async("/api/auth/logout", |req: Request, _| async move {
        respond::finish(sign_out::one(&req).await)
    });
    router.post_async("/api/auth/logout-all", |req: Request, _| async move {
        respond::finish(sign_out::all(&req).await)
    });
    router.get("/api/me", |req: Request, _| {
        respond::finish(me::handle(&req))
    });
    for path in ROUTES {
        router.any(path, method_not_allowed);
    }
    router.any("/*", |_: Request, _| {
        respond::error(&ApiError::not_found("no such route"))
    });
    router.handle_async(req).await
}

fn method_not_allowed(_req: Request, _params: Params) -> Response {
    respond::error(&ApiError::method_not_allowed())
}
