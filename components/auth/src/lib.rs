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
        .route(Method::Get, "/auth/do", |req, _| async move {
            digitalocean::start(&req)
        })
        .route(Method::Get, "/auth/do/callback", |req, _| {
            digitalocean::callback(req)
        })
        .route(Method::Post, "/auth/do/disconnect", |req, _| {
            digitalocean::disconnect(req)
        })
        .route(Method::Post, "/auth/dev/login", |req, _| async move {
            dev_login::handle(&req)
        })
        .route(Method::Get, "/api/auth/github/start", |req, _| async move {
            github::start(&req)
        })
        .route(Method::Get, "/api/auth/github/callback", |req, _| {
            github::callback(req)
        })
        .route(Method::Post, "/api/auth/logout", |req, _| async move {
            sign_out::one(&req).await
        })
        .route(Method::Post, "/api/auth/logout-all", |req, _| async move {
            sign_out::all(&req).await
        })
        .route(
            Method::Get,
            "/api/me",
            |req, _| async move { me::handle(&req) },
        );
    routes.handle(req).await
}
