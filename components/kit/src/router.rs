//! The one router every component uses: a table of routes and their methods over spin-sdk's
//! router, with the answers every component owes alike. An unknown path is 404, a known path
//! with another method 405 with `Allow`, both as the JSON error; `/api/*` answers CORS
//! preflights and carries CORS headers for the allowed origins ([`crate::cors`]).

use std::{collections::BTreeMap, future::Future};

use chatcode_core::ApiError;
use spin_sdk::http::{Method, Params, Request, Response, Router};

use crate::{Reply, cors, respond};

/// A component's routes.
pub struct Routes {
    router: Router,
    /// Each path and the methods it answers, for `Allow` and preflights.
    methods: BTreeMap<&'static str, Vec<Method>>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    /// No routes yet.
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            methods: BTreeMap::new(),
        }
    }

    /// Serves `method` on `path` (spin-sdk syntax: `/vps/:id`) with `handler`, whose error is
    /// answered as the JSON error.
    pub fn route<F, Fut>(&mut self, method: Method, path: &'static str, handler: F) -> &mut Self
    where
        F: Fn(Request, Params) -> Fut + 'static,
        Fut: Future<Output = Reply> + 'static,
    {
        self.methods.entry(path).or_default().push(method.clone());
        self.router
            .add_async(path, method, move |req: Request, params: Params| {
                let reply = handler(req, params);
                async move { respond::finish(reply.await) }
            });
        self
    }

    /// Routes one request.
    pub async fn handle(mut self, req: Request) -> Response {
        let cors = cors::Cors::for_request(&req);
        for (path, methods) in &self.methods {
            if let Some(cors) = cors.clone() {
                let methods = methods.clone();
                self.router
                    .options(path, move |_: Request, _: Params| cors.preflight(&methods));
            }
            let allow = allow_header(methods);
            self.router.any(path, move |_: Request, _: Params| {
                let mut response = respond::error(&ApiError::method_not_allowed());
                response.set_header("allow", allow.clone());
                response
            });
        }
        self.router.any("/*", |_: Request, _: Params| {
            respond::error(&ApiError::not_found("no such route"))
        });
        let mut response = self.router.handle_async(req).await;
        if let Some(cors) = cors {
            cors.decorate(&mut response);
        }
        response
    }
}

/// The `Allow` header for `methods`.
fn allow_header(methods: &[Method]) -> String {
    methods
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A matched route's parameter (the router matches only when it is present).
pub fn param<'a>(params: &'a Params, name: &str) -> &'a str {
    params.get(name).unwrap_or_default()
}
