//! The one router every component uses: a table of routes and their methods over spin-sdk's
//! router, with the answers every component owes alike. An unknown path is 404, a known path
//! with another method 405 with `Allow`, both as the JSON error; `/api/*` answers CORS
//! preflights and carries CORS headers for the allowed origins ([`crate::cors`]).
//!
//! A component instance serves one request, so the table is built per request: only the
//! patterns that can match the request's path reach spin-sdk's router (parsing every pattern
//! of the component each time was a tenth of the guest's work on a relayed command).

use std::{collections::BTreeMap, future::Future};

use chatcode_core::ApiError;
use spin_sdk::http::{Method, Params, Request, Response, Router};

use crate::{Reply, cors, respond};

/// A component's routes for one request.
pub struct Routes {
    router: Router,
    /// The request's path, which decides the patterns worth adding.
    path: String,
    /// Each pattern that can match and the methods it answers, for `Allow` and preflights.
    methods: BTreeMap<&'static str, Vec<Method>>,
}

impl Routes {
    /// No routes yet, for routing `req`.
    pub fn new(req: &Request) -> Self {
        Self {
            router: Router::new(),
            path: req.path().to_owned(),
            methods: BTreeMap::new(),
        }
    }

    /// Serves `method` on `path` (spin-sdk syntax: `/vps/:id`) with `handler`, whose error is
    /// answered as the JSON error. A pattern that cannot match the request's path is skipped.
    pub fn route<F, Fut>(&mut self, method: Method, path: &'static str, handler: F) -> &mut Self
    where
        F: Fn(Request, Params) -> Fut + 'static,
        Fut: Future<Output = Reply> + 'static,
    {
        if !could_match(path, &self.path) {
            return self;
        }
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

/// Whether `pattern` (whole-segment `:params` only, no wildcard) can match `path` under
/// spin-sdk's router: the same segments once the outer slashes are trimmed, each a param
/// taking a non-empty segment or the same text. The router still picks among the candidates
/// (`/vps/options` before `/vps/:id`).
fn could_match(pattern: &str, path: &str) -> bool {
    let mut wanted = pattern.trim_matches('/').split('/');
    let mut given = path.trim_matches('/').split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) if want.starts_with(':') && !got.is_empty() => {}
            (Some(want), Some(got)) if want == got => {}
            _ => return false,
        }
    }
}

/// A matched route's parameter (the router matches only when it is present).
pub fn param<'a>(params: &'a Params, name: &str) -> &'a str {
    params.get(name).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::could_match;

    #[test]
    fn a_pattern_is_a_candidate_only_for_paths_of_its_shape() {
        assert!(could_match("/vps/:id", "/vps/vps-1"));
        assert!(could_match("/vps/:id", "/vps/vps-1/"));
        assert!(could_match("/vps/:id", "/vps/options"));
        assert!(could_match("/vps/options", "/vps/options"));
        assert!(could_match("/", "/"));
        assert!(could_match("/api/openapi.json", "/api/openapi.json"));
        assert!(could_match(
            "/vps/:id/sessions/:sid/snapshot",
            "/vps/a/sessions/b/snapshot"
        ));

        assert!(!could_match("/vps/:id", "/vps"));
        assert!(!could_match("/vps/:id", "/vps/"));
        assert!(!could_match("/vps/:id", "/vps/a/sessions"));
        assert!(!could_match("/vps/:id/sessions", "/vps//sessions"));
        assert!(!could_match("/vps/options", "/vps/vps-1"));
        assert!(!could_match("/api/openapi.json", "/api/openapi.yaml"));
        assert!(!could_match("/:id", "/"));
        assert!(!could_match("/vps", "/VPS"));
    }
}
