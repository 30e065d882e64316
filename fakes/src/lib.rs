//! `chatcode-fakes`: in-repo fakes of the third-party services chatcode
//! calls, for tests. Each fake is a real HTTP server on its own thread that
//! answers as the service documents (status codes, JSON shapes, headers,
//! error bodies), plus a handle tests use to look inside it and to inject
//! faults.
//!
//! ```no_run
//! use chatcode_fakes::digitalocean::{self, DoConfig};
//!
//! let (server, handle) = digitalocean::spawn(DoConfig::default());
//! // point `do_oauth_base` and `do_api_base` at server.url() …
//! assert!(handle.droplets().is_empty());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod common;
pub mod digitalocean;
pub mod github;
pub mod libsql;
pub mod stripe;

pub use common::{faults::Fault, journal::RecordedRequest, server::FakeServer};
use digitalocean::{DoConfig, DoHandle};
use github::{GithubConfig, GithubHandle};
use stripe::{StripeConfig, StripeHandle};

/// Starts a DigitalOcean fake (OAuth under `/v1/oauth`, API under `/v2`) on
/// `127.0.0.1:0`. It runs on its own thread, so it never competes with the
/// caller's runtime.
pub async fn start_digitalocean(config: DoConfig) -> anyhow::Result<(FakeServer, DoHandle)> {
    digitalocean::spawn_on(config, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// Starts a GitHub fake (OAuth under `/login/oauth`, API at the root) on
/// `127.0.0.1:0`, on its own thread.
pub async fn start_github(config: GithubConfig) -> anyhow::Result<(FakeServer, GithubHandle)> {
    github::spawn_on(config, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// Starts a Stripe fake (API under `/v1`, webhooks to the configured endpoint) on
/// `127.0.0.1:0`, on its own thread.
pub async fn start_stripe(config: StripeConfig) -> anyhow::Result<(FakeServer, StripeHandle)> {
    stripe::spawn_on(config, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
}
