//! The internal routes the hub calls (bearer `hub_secret`): gateway authentication, gateway
//! and session events, and the periodic sweep.

pub mod events;
pub mod gateway_auth;
pub mod sweep;
