//! What every chatcode component shares over spin-sdk: the JSON error as a
//! response, configuration from Spin variables, SQLite helpers, and browser
//! sessions with the "current user" extraction.
//!
//! Decisions live in `chatcode-core`; this crate only does the I/O around them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod catalog;
pub mod config;
pub mod db;
pub mod digitalocean;
pub mod droplets;
pub mod hub;
pub mod internal;
pub mod kv;
pub mod outbound;
pub mod respond;
pub mod sessions;
pub mod vault;

pub use respond::Reply;
