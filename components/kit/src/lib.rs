//! What every chatcode component shares over spin-sdk: routing (404, 405 with `Allow`, CORS),
//! the JSON error as a response, configuration from Spin variables, SQLite and key-value
//! helpers, logins and API keys with the "who is calling" extraction, outbound HTTP, the
//! DigitalOcean and hub clients, and the budget guard on new sessions.
//!
//! Decisions live in `chatcode-core`; this crate only does the I/O around them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api_keys;
pub mod budget;
pub mod caller;
pub mod catalog;
pub mod config;
pub mod cors;
pub mod db;
pub mod digitalocean;
pub mod droplets;
pub mod github;
pub mod hub;
pub mod internal;
pub mod kv;
pub mod login;
pub mod outbound;
pub mod respond;
pub mod router;
pub mod status;
pub mod teardown;
pub mod vault;

pub use respond::Reply;
