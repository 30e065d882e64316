//! The guard on `/internal/*` routes: only the hub, holding `hub_secret`, may call them.

use chatcode_core::{ApiError, token::bearer_matches};
use spin_sdk::http::Request;

use crate::config;

/// Passes when `Authorization: Bearer <hub_secret>` matches (compared in constant time);
/// 401 otherwise.
pub fn require_hub(req: &Request) -> Result<(), ApiError> {
    let secret = config::required("hub_secret")?;
    let header = req.header("authorization").and_then(|v| v.as_str());
    if bearer_matches(header, &secret) {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}
