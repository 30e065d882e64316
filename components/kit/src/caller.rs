//! Who is calling a user route: a browser's login cookie, or an API key as
//! `Authorization: Bearer cck_…`. Both carry the same rights; every route then checks that
//! the caller owns what it touches. A request that presents an API key is judged by it alone:
//! a bad or revoked key is 401 even if a cookie came along.

use chatcode_core::{
    ApiError, api_key,
    login::{api_key_ref, login_ref},
    token::parse_bearer,
};
use spin_sdk::http::Request;

use crate::{api_keys, db, login};

/// What proved the caller's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser login, by the hash of its cookie's token.
    Login(String),
    /// An API key, by its id.
    ApiKey(String),
}

/// The user a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `users.id`.
    pub user_id: String,
    /// How they proved it.
    pub credential: Credential,
}

impl Caller {
    /// The name an attach ticket gives this credential ([`login_ref`] or [`api_key_ref`]), so ending it closes the terminals it opened.
    pub fn login_ref(&self) -> String {
        match &self.credential {
            Credential::Login(hash) => login_ref(hash),
            Credential::ApiKey(id) => api_key_ref(id),
        }
    }
}

/// The caller, if the request carries a live login or a valid API key.
pub fn current(req: &Request) -> Result<Option<Caller>, ApiError> {
    if let Some(key) = presented_key(req) {
        let conn = db::open()?;
        return api_keys::authenticate(&conn, key)?
            .map(|found| {
                Some(Caller {
                    user_id: found.user_id,
                    credential: Credential::ApiKey(found.id),
                })
            })
            .ok_or_else(ApiError::unauthorized);
    }
    Ok(login::from_cookie(req)?.map(|login| Caller {
        user_id: login.user_id,
        credential: Credential::Login(login.hash),
    }))
}

/// The caller, or 401.
pub fn require(req: &Request) -> Result<Caller, ApiError> {
    current(req)?.ok_or_else(ApiError::unauthorized)
}

/// The API key of an `Authorization: Bearer cck_…` header, if the request has one.
fn presented_key(req: &Request) -> Option<&str> {
    let header = req.header("authorization")?.as_str()?;
    parse_bearer(header).filter(|token| token.starts_with(api_key::SCHEME))
}
