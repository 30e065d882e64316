//! Helpers for the GitHub tests: the OAuth dance and API calls.

use chatcode_fakes::github::GithubConfig;
use reqwest::blocking::Response;
use serde_json::Value;

use super::{client, location, query};

/// The `User-Agent` API calls send.
pub const UA: &str = "chatcode-tests";

/// `GET /login/oauth/authorize` with the app's parameters plus `extra`.
pub fn authorize(url: &str, config: &GithubConfig, extra: &[(&str, &str)]) -> Response {
    let mut params = vec![
        ("client_id", config.client_id.as_str()),
        ("redirect_uri", config.redirect_uri.as_str()),
        ("scope", "read:user user:email"),
        ("state", "abc"),
    ];
    params.extend_from_slice(extra);
    client()
        .get(format!("{url}/login/oauth/authorize"))
        .query(&params)
        .send()
        .expect("authorize")
}

/// Authorizes and returns the code from the redirect.
pub fn code(url: &str, config: &GithubConfig, extra: &[(&str, &str)]) -> String {
    let response = authorize(url, config, extra);
    assert_eq!(response.status(), 302);
    query(&location(&response)).remove("code").expect("a code")
}

/// `POST /login/oauth/access_token`, asking for JSON if `json`.
pub fn exchange(
    url: &str,
    config: &GithubConfig,
    code: &str,
    extra: &[(&str, &str)],
    json: bool,
) -> Response {
    let mut form = vec![
        ("client_id", config.client_id.as_str()),
        ("client_secret", config.client_secret.as_str()),
        ("code", code),
        ("redirect_uri", config.redirect_uri.as_str()),
    ];
    form.extend_from_slice(extra);
    let mut request = client()
        .post(format!("{url}/login/oauth/access_token"))
        .form(&form);
    if json {
        request = request.header("accept", "application/json");
    }
    request.send().expect("access_token")
}

/// Asserts a token error: HTTP 200 and the given `error`.
pub fn token_error(response: Response, error: &str) {
    assert_eq!(
        response.status(),
        200,
        "GitHub reports token errors with 200"
    );
    let body: Value = response.json().expect("JSON");
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string() && body["error_uri"].is_string());
    assert!(body.get("access_token").is_none());
}

/// An API call with a `User-Agent` and a Bearer token.
pub fn api(url: &str, path: &str, token: &str) -> Response {
    client()
        .get(format!("{url}{path}"))
        .header("user-agent", UA)
        .bearer_auth(token)
        .send()
        .expect("api")
}
