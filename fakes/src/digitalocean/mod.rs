//! A fake of DigitalOcean: the OAuth server (`/v1/oauth/…`, the app's
//! `do_oauth_base`) and API v2 (`/v2/…`, the app's `do_api_base`) on one port.
//!
//! It follows DigitalOcean's published OAuth guide and API v2 OpenAPI spec
//! (digitalocean/openapi): 302 redirects from `/authorize`, `invalid_grant`
//! errors from `/token`, 202/201/204 from the API, `{"id","message",
//! "request_id"}` errors, and `ratelimit-*` headers on every API answer.

mod catalog;
mod config;
mod create;
mod droplets;
mod errors;
mod guard;
mod handle;
mod model;
mod oauth;
mod paging;
mod state;

use std::net::SocketAddr;

use axum::{
    Router,
    http::{Extensions, Method, StatusCode},
    middleware::from_fn_with_state,
    response::Response,
    routing::{get, post},
};

pub use self::{
    config::{DoAccount, DoConfig},
    handle::{DoHandle, DoTokens},
    model::{Action, Droplet, DropletStatus},
};
use self::{guard::Caller, state::DoState};
use crate::common::{
    faults::Fault,
    observe::{Fake, inject, record},
    random,
    server::FakeServer,
    traffic::Traffic,
};

/// The fake's endpoints, as tests name them for call counts and faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DoEndpoint {
    /// `GET /v1/oauth/authorize`
    Authorize,
    /// `POST /v1/oauth/token`
    Token,
    /// `POST /v1/oauth/revoke`
    Revoke,
    /// `GET /v2/account`
    Account,
    /// `POST /v2/droplets`
    CreateDroplet,
    /// `GET /v2/droplets`
    ListDroplets,
    /// `GET /v2/droplets/{id}`
    GetDroplet,
    /// `DELETE /v2/droplets/{id}`
    DeleteDroplet,
    /// `POST /v2/droplets/{id}/actions`
    DropletAction,
    /// `GET /v2/actions/{id}`
    GetAction,
    /// `GET /v2/regions`
    ListRegions,
    /// `GET /v2/sizes`
    ListSizes,
}

impl Fake for DoState {
    type Endpoint = DoEndpoint;

    fn endpoint(method: &Method, route: &str) -> Option<DoEndpoint> {
        Some(match (method.as_str(), route) {
            ("GET", "/v1/oauth/authorize") => DoEndpoint::Authorize,
            ("POST", "/v1/oauth/token") => DoEndpoint::Token,
            ("POST", "/v1/oauth/revoke") => DoEndpoint::Revoke,
            ("GET", "/v2/account") => DoEndpoint::Account,
            ("POST", "/v2/droplets") => DoEndpoint::CreateDroplet,
            ("GET", "/v2/droplets") => DoEndpoint::ListDroplets,
            ("GET", "/v2/droplets/{id}") => DoEndpoint::GetDroplet,
            ("DELETE", "/v2/droplets/{id}") => DoEndpoint::DeleteDroplet,
            ("POST", "/v2/droplets/{id}/actions") => DoEndpoint::DropletAction,
            ("GET", "/v2/actions/{id}") => DoEndpoint::GetAction,
            ("GET", "/v2/regions") => DoEndpoint::ListRegions,
            ("GET", "/v2/sizes") => DoEndpoint::ListSizes,
            _ => return None,
        })
    }

    fn traffic(&self) -> &Traffic<DoEndpoint> {
        &self.0.traffic
    }

    fn fault_response(&self, endpoint: DoEndpoint, fault: &Fault, ext: &Extensions) -> Response {
        let request_id = ext
            .get::<Caller>()
            .map_or_else(random::uuid, |c| c.request_id.clone());
        let status = match fault {
            Fault::RateLimited { retry_after } => {
                if matches!(
                    endpoint,
                    DoEndpoint::Authorize | DoEndpoint::Token | DoEndpoint::Revoke
                ) {
                    let mut r = errors::oauth_error(
                        StatusCode::TOO_MANY_REQUESTS,
                        "slow_down",
                        "Too many requests.",
                    );
                    if let Ok(v) = retry_after.to_string().parse() {
                        r.headers_mut().insert("retry-after", v);
                    }
                    return r;
                }
                return guard::rate_limited(&request_id, *retry_after);
            }
            Fault::Status(code) => {
                StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Fault::Hang(_) | Fault::Late(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match endpoint {
            DoEndpoint::Authorize => errors::error_page(status, "An error has occurred."),
            DoEndpoint::Token | DoEndpoint::Revoke => {
                let (error, description) = errors::oauth_status_error(status);
                errors::oauth_error(status, error, description)
            }
            _ => {
                let (id, message) = errors::api_status_text(status);
                errors::api_error(status, id, message, &request_id)
            }
        }
    }
}

fn router(state: DoState) -> Router {
    let oauth = Router::new()
        .route("/v1/oauth/authorize", get(oauth::authorize))
        .route("/v1/oauth/token", post(oauth::token))
        .route("/v1/oauth/revoke", post(oauth::revoke))
        .route_layer(from_fn_with_state(state.clone(), inject::<DoState>))
        .route_layer(from_fn_with_state(state.clone(), record::<DoState>));
    let api = Router::new()
        .route("/v2/account", get(droplets::account))
        .route("/v2/droplets", post(droplets::create).get(droplets::list))
        .route(
            "/v2/droplets/{id}",
            get(droplets::get).delete(droplets::delete),
        )
        .route("/v2/droplets/{id}/actions", post(droplets::action))
        .route("/v2/actions/{id}", get(droplets::get_action))
        .route("/v2/regions", get(catalog::regions))
        .route("/v2/sizes", get(catalog::sizes))
        .route_layer(from_fn_with_state(state.clone(), inject::<DoState>))
        .route_layer(from_fn_with_state(state.clone(), guard::guard))
        .route_layer(from_fn_with_state(state.clone(), record::<DoState>));
    oauth
        .merge(api)
        .fallback(|| async { errors::not_found(&random::uuid()) })
        .with_state(state)
}

/// Starts the fake on `listen` (port 0 picks a free port) on its own thread.
pub fn spawn_on(config: DoConfig, listen: SocketAddr) -> anyhow::Result<(FakeServer, DoHandle)> {
    let listener = FakeServer::bind(listen)?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let state = DoState::new(config, base_url);
    let server = FakeServer::serve(listener, router(state.clone()))?;
    Ok((server, DoHandle::new(state)))
}

/// Starts the fake on `127.0.0.1:0`, for synchronous tests.
///
/// # Panics
/// If no loopback port can be bound (the test cannot run without one).
pub fn spawn(config: DoConfig) -> (FakeServer, DoHandle) {
    spawn_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).expect("starting the DigitalOcean fake")
}
