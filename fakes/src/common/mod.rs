//! Pieces every fake shares: the server thread, the clock, faults, the request journal.

pub(crate) mod bounded;
pub(crate) mod clock;
pub mod faults;
pub mod journal;
pub(crate) mod oauth;
pub(crate) mod observe;
pub(crate) mod params;
pub(crate) mod random;
pub mod server;
pub mod traffic;
