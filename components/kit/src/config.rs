//! Configuration: Spin variables, read per request (they are cheap host calls).

use chatcode_core::ApiError;

/// A variable the component cannot work without; its absence is logged and
/// answered as an internal error.
pub fn required(name: &str) -> Result<String, ApiError> {
    match spin_sdk::variables::get(name) {
        Ok(value) if !value.is_empty() => Ok(value),
        Ok(_) => {
            eprintln!("variable {name} is empty");
            Err(ApiError::internal())
        }
        Err(e) => {
            eprintln!("variable {name} is unavailable: {e:?}");
            Err(ApiError::internal())
        }
    }
}

/// A variable that may be unset.
pub fn optional(name: &str) -> Option<String> {
    spin_sdk::variables::get(name)
        .ok()
        .filter(|v| !v.is_empty())
}

/// Whether `environment = "development"`: enables local-only conveniences
/// (development login, cookies without `Secure`).
pub fn is_development() -> bool {
    optional("environment").as_deref() == Some("development")
}
