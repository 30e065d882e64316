//! Helpers shared by the fakes' integration tests: an HTTP client that does
//! not follow redirects, and readers for redirect locations.

pub mod digitalocean;
pub mod github;
pub mod stripe;

use std::{collections::HashMap, time::Duration};

use reqwest::blocking::{Client, Response};

/// The RFC 7636 example verifier and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// S256 of [`VERIFIER`].
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A blocking client that leaves redirects to the test.
pub fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("building the HTTP client")
}

/// The `Location` of a redirect.
pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .expect("an ASCII Location")
        .to_owned()
}

/// The query parameters of a URL.
pub fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .expect("an absolute URL")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A response header as a string.
pub fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
}
