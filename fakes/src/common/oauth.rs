//! OAuth pieces both fakes use: redirects back to the client, PKCE, client
//! credentials from a Basic header.

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use sha2::{Digest, Sha256};

/// `redirect_uri` with `params` appended to its query; `None` if it is not a URL.
pub(crate) fn redirect_url(redirect_uri: &str, params: &[(&str, &str)]) -> Option<String> {
    let mut url = url::Url::parse(redirect_uri).ok()?;
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
    }
    Some(url.into())
}

/// A `302 Found` to `location`.
pub(crate) fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "invalid redirect").into_response(),
    }
}

/// RFC 7636: does `verifier` match the challenge made with `method`?
pub(crate) fn pkce_matches(method: &str, challenge: &str, verifier: &str) -> bool {
    match method {
        "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge,
        "plain" => verifier == challenge,
        _ => false,
    }
}

/// `(client_id, client_secret)` from `Authorization: Basic …`, if sent.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The token of `Authorization: <scheme> <token>` for one of `schemes`.
pub(crate) fn authorization_token<'a>(headers: &'a HeaderMap, schemes: &[&str]) -> Option<&'a str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc7636_example() {
        assert!(pkce_matches(
            "S256",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!pkce_matches(
            "S256",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "other"
        ));
    }

    #[test]
    fn appends_to_an_existing_query() {
        let url = redirect_url("http://a.test/cb?x=1", &[("code", "c d"), ("state", "s")]);
        assert_eq!(
            url.as_deref(),
            Some("http://a.test/cb?x=1&code=c+d&state=s")
        );
    }
}
