//! chatcode billing component: credits as an append-only ledger (balance, usage, plans and
//! packages, the budget guard), credit purchases and Stripe (payment methods, webhooks), and
//! the budget guard's power-off sweep for the hub. A thin spin-sdk adapter: routing here,
//! HTTP mapping in the handler modules, SQL in `ledger`, `store` and `customers`, rules in
//! `chatcode_core::billing` and `chatcode_core::stripe`.

mod balance;
mod config;
mod customers;
mod ledger;
mod methods;
mod purchase;
mod store;
mod stripe;
mod sweep;
mod usage;
mod webhook;

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
        .route(Method::Get, "/api/billing/balance", |req, _| async move {
            balance::show(&req)
        })
        .route(Method::Get, "/api/billing/plans", |req, _| async move {
            balance::plans(&req)
        })
        .route(Method::Get, "/api/billing/credits", |req, _| async move {
            balance::credits(&req)
        })
        .route(Method::Post, "/api/billing/credits/purchase", |req, _| {
            purchase::buy(req)
        })
        .route(Method::Get, "/api/billing/purchases", |req, _| async move {
            purchase::list(&req)
        })
        .route(Method::Post, "/api/billing/usage", |req, _| async move {
            usage::record(&req)
        })
        .route(Method::Get, "/api/billing/usage", |req, _| async move {
            usage::list(&req)
        })
        .route(
            Method::Get,
            "/api/billing/usage/:id",
            |req, params| async move { usage::show(&req, param(&params, "id")) },
        )
        .route(Method::Get, "/api/billing/ledger", |req, _| async move {
            usage::ledger_list(&req)
        })
        .route(Method::Get, "/api/billing/settings", |req, _| async move {
            balance::settings(&req)
        })
        .route(
            Method::Patch,
            "/api/billing/settings",
            |req, _| async move { balance::update_settings(&req) },
        )
        .route(Method::Get, "/api/stripe/config", |req, _| async move {
            methods::show_config(&req)
        })
        .route(Method::Post, "/api/stripe/setup-intent", |req, _| {
            methods::setup_intent(req)
        })
        .route(Method::Get, "/api/stripe/payment-methods", |req, _| {
            methods::list(req)
        })
        .route(
            Method::Delete,
            "/api/stripe/payment-methods/:id",
            |req, params| methods::remove(req, param(&params, "id").to_owned()),
        )
        .route(
            Method::Post,
            "/api/stripe/payment-methods/:id/default",
            |req, params| methods::make_default(req, param(&params, "id").to_owned()),
        )
        .route(Method::Post, "/webhooks/stripe", |req, _| {
            webhook::receive(req)
        })
        .route(Method::Post, "/internal/billing/sweep", |req, _| {
            sweep::handle(req)
        });
    routes.handle(req).await
}
