//! A fake of GitHub: the OAuth web flow (`/login/oauth/…`, the app's
//! `github_oauth_base`) and the REST API at the root (`/user`,
//! `/user/emails`, the app's `github_api_base`) on one port.
//!
//! It follows GitHub's docs: 302 back to the callback with `code` and
//! `state`, token errors with HTTP 200, JSON only with
//! `Accept: application/json`, PKCE S256, a required `User-Agent`, and
//! `x-ratelimit-*` headers.

mod api;
mod config;
mod grants;
mod handle;
mod oauth;
mod state;

use std::net::SocketAddr;

use axum::{
    Router,
    http::{Extensions, HeaderValue, Method, StatusCode, header},
    middleware::from_fn_with_state,
    response::{IntoResponse, Response},
    routing::{get, post},
};

use self::state::GhState;
pub use self::{
    config::{GithubConfig, GithubEmail, GithubUser},
    handle::GithubHandle,
    state::Authorization,
};
use crate::common::{
    faults::Fault,
    observe::{Fake, inject, record},
    server::FakeServer,
    traffic::Traffic,
};

/// The fake's endpoints, as tests name them for call counts and faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GithubEndpoint {
    /// `GET /login/oauth/authorize`
    Authorize,
    /// `POST /login/oauth/access_token`
    AccessToken,
    /// `GET /user`
    User,
    /// `GET /user/emails`
    UserEmails,
    /// `DELETE /applications/{client_id}/grant`
    DeleteGrant,
}

impl Fake for GhState {
    type Endpoint = GithubEndpoint;

    fn endpoint(method: &Method, route: &str) -> Option<GithubEndpoint> {
        Some(match (method.as_str(), route) {
            ("GET", "/login/oauth/authorize") => GithubEndpoint::Authorize,
            ("POST", "/login/oauth/access_token") => GithubEndpoint::AccessToken,
            ("GET", "/user") => GithubEndpoint::User,
            ("GET", "/user/emails") => GithubEndpoint::UserEmails,
            ("DELETE", "/applications/{client_id}/grant") => GithubEndpoint::DeleteGrant,
            _ => return None,
        })
    }

    fn traffic(&self) -> &Traffic<GithubEndpoint> {
        &self.0.traffic
    }

    fn fault_response(
        &self,
        endpoint: GithubEndpoint,
        fault: &Fault,
        _ext: &Extensions,
    ) -> Response {
        let status = match fault {
            Fault::RateLimited { retry_after } => {
                if matches!(endpoint, GithubEndpoint::User | GithubEndpoint::UserEmails) {
                    return api::secondary_limit(*retry_after);
                }
                let mut r = StatusCode::TOO_MANY_REQUESTS.into_response();
                if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return r;
            }
            Fault::Status(code) => {
                StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Fault::Hang(_) | Fault::Late(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match endpoint {
            GithubEndpoint::User | GithubEndpoint::UserEmails
                if status == StatusCode::UNAUTHORIZED =>
            {
                api::bad_credentials()
            }
            GithubEndpoint::User | GithubEndpoint::UserEmails | GithubEndpoint::DeleteGrant => {
                api::error(
                    status,
                    status.canonical_reason().unwrap_or("Error"),
                    "https://docs.github.com/rest",
                )
            }
            GithubEndpoint::Authorize | GithubEndpoint::AccessToken => (
                status,
                status.canonical_reason().unwrap_or("Error").to_owned(),
            )
                .into_response(),
        }
    }
}

fn router(state: GhState) -> Router {
    let oauth = Router::new()
        .route("/login/oauth/authorize", get(oauth::authorize))
        .route("/login/oauth/access_token", post(oauth::access_token))
        .route_layer(from_fn_with_state(state.clone(), inject::<GhState>))
        .route_layer(from_fn_with_state(state.clone(), record::<GhState>));
    let apps = Router::new()
        .route(
            "/applications/{client_id}/grant",
            axum::routing::delete(grants::delete),
        )
        .route_layer(from_fn_with_state(state.clone(), inject::<GhState>))
        .route_layer(from_fn_with_state(state.clone(), record::<GhState>));
    let api = Router::new()
        .route("/user", get(api::user))
        .route("/user/emails", get(api::emails))
        .route_layer(from_fn_with_state(state.clone(), inject::<GhState>))
        .route_layer(from_fn_with_state(state.clone(), api::guard))
        .route_layer(from_fn_with_state(state.clone(), record::<GhState>));
    oauth
        .merge(apps)
        .merge(api)
        .fallback(|| async {
            api::error(
                StatusCode::NOT_FOUND,
                "Not Found",
                "https://docs.github.com/rest",
            )
        })
        .with_state(state)
}

/// Starts the fake on `listen` (port 0 picks a free port) on its own thread.
pub fn spawn_on(
    config: GithubConfig,
    listen: SocketAddr,
) -> anyhow::Result<(FakeServer, GithubHandle)> {
    let listener = FakeServer::bind(listen)?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let state = GhState::new(config, base_url);
    let server = FakeServer::serve(listener, router(state.clone()))?;
    Ok((server, GithubHandle::new(state)))
}

/// Starts the fake on `127.0.0.1:0`, for synchronous tests.
///
/// # Panics
/// If no loopback port can be bound (the test cannot run without one).
pub fn spawn(config: GithubConfig) -> (FakeServer, GithubHandle) {
    spawn_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).expect("starting the GitHub fake")
}
