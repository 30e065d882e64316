//! Helpers for the DigitalOcean API tests: a static token, requests, error checks.

use chatcode_fakes::digitalocean::DoConfig;
use reqwest::blocking::Response;
use serde_json::{Value, json};

use super::client;

/// The static API token every helper sends.
pub const TOKEN: &str = "dop_v1_statictesttoken";

/// A default configuration that accepts [`TOKEN`].
pub fn config() -> DoConfig {
    DoConfig {
        static_tokens: vec![TOKEN.to_owned()],
        ..DoConfig::default()
    }
}

/// `POST /v2/droplets` with [`TOKEN`].
pub fn create(base: &str, body: &Value) -> Response {
    client()
        .post(format!("{base}/v2/droplets"))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .expect("create")
}

/// `GET {path}` with [`TOKEN`].
pub fn get(base: &str, path: &str) -> Response {
    client()
        .get(format!("{base}{path}"))
        .bearer_auth(TOKEN)
        .send()
        .expect("get")
}

/// The smallest valid create body.
pub fn minimal(name: &str) -> Value {
    json!({ "name": name, "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64" })
}

/// Asserts an API error (status, `id`, `request_id`, rate-limit headers)
/// and returns its message.
pub fn api_error(response: Response, status: u16, id: &str) -> String {
    assert_eq!(response.status(), status);
    for name in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
        assert!(
            response.headers().contains_key(name),
            "{name} missing on an error"
        );
    }
    let body: Value = response.json().expect("a JSON error");
    assert_eq!(body["id"], id, "{body}");
    assert!(body["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    body["message"].as_str().expect("a message").to_owned()
}
