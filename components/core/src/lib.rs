//! chatcode core: ids, tokens, the JSON error type, migration planning, time, and the billing
//! and Stripe rules, shared by every component, the hub and the tests.
//!
//! Pure library: no spin-sdk, no tokio. It builds for `wasm32-wasip2` and for the host, so the
//! rules here are unit-tested with `cargo test -p chatcode-core`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accounts;
pub mod api_key;
pub mod billing;
pub mod cloud_init;
pub mod cookie;
pub mod crypto;
pub mod error;
pub mod hub_events;
pub mod ids;
pub mod login;
pub mod migrations;
pub mod oauth;
pub mod protocol;
pub mod revocation;
pub mod sessions;
pub mod ssh;
pub mod stripe;
pub mod ticket;
pub mod time;
pub mod token;
pub mod vps;

mod hex;

pub use error::{ApiError, ErrorKind};
pub use ids::IdKind;
