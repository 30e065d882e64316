//! Third-party tokens at rest: the cipher and the context each token is sealed for.

use chatcode_core::{ApiError, crypto::TokenCipher};

use crate::config;

/// The cipher keyed by the `token_encryption_key` variable.
pub fn cipher() -> Result<TokenCipher, ApiError> {
    TokenCipher::from_base64_key(&config::required("token_encryption_key")?).map_err(|e| {
        eprintln!("token_encryption_key: {e}");
        ApiError::internal()
    })
}

/// Context of a user's DigitalOcean access token.
pub fn do_access(user_id: &str) -> String {
    format!("do_access_token:{user_id}")
}

/// Context of a user's DigitalOcean refresh token.
pub fn do_refresh(user_id: &str) -> String {
    format!("do_refresh_token:{user_id}")
}

/// Context of a user's GitHub token.
pub fn github(user_id: &str) -> String {
    format!("github_token:{user_id}")
}

/// Opens a sealed token; failure means a wrong key or a tampered row.
pub fn open(sealed: &str, context: &str) -> Result<String, ApiError> {
    cipher()?.open(sealed, context).map_err(|e| {
        eprintln!("opening a sealed token ({context}): {e}");
        ApiError::internal()
    })
}
