//! Helpers for the Stripe tests: form requests with the secret key, error checks.

use chatcode_fakes::stripe::{DEFAULT_SECRET_KEY, StripeConfig, StripeHandle};
use reqwest::blocking::Response;
use serde_json::Value;

use super::client;

/// The key every helper sends.
pub const KEY: &str = DEFAULT_SECRET_KEY;

/// A default configuration.
pub fn config() -> StripeConfig {
    StripeConfig::default()
}

/// `POST {path}` with a form body and [`KEY`].
pub fn post(base: &str, path: &str, form: &[(&str, &str)]) -> Response {
    client()
        .post(format!("{base}{path}"))
        .bearer_auth(KEY)
        .form(form)
        .send()
        .expect("post")
}

/// `POST {path}` with a form body, [`KEY`] and an `Idempotency-Key`.
pub fn post_with_key(base: &str, path: &str, form: &[(&str, &str)], key: &str) -> Response {
    client()
        .post(format!("{base}{path}"))
        .bearer_auth(KEY)
        .header("idempotency-key", key)
        .form(form)
        .send()
        .expect("post")
}

/// `GET {path}` with [`KEY`].
pub fn get(base: &str, path: &str) -> Response {
    client()
        .get(format!("{base}{path}"))
        .bearer_auth(KEY)
        .send()
        .expect("get")
}

/// Asserts a 200 and returns the JSON.
pub fn ok(response: Response) -> Value {
    let status = response.status();
    let body: Value = response.json().expect("JSON");
    assert_eq!(status, 200, "{body}");
    body
}

/// Asserts a Stripe error (status, `type`, `code`) and returns the `error` object.
pub fn error(response: Response, status: u16, kind: &str, code: Option<&str>) -> Value {
    assert_eq!(response.status(), status);
    assert!(
        response.headers().contains_key("request-id"),
        "errors carry a Request-Id too"
    );
    let body: Value = response.json().expect("a JSON error");
    let e = body["error"].clone();
    assert_eq!(e["type"], kind, "{body}");
    assert_eq!(e["code"].as_str(), code, "{body}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    e
}

/// A new customer's id.
pub fn customer(base: &str) -> String {
    let c = ok(post(base, "/v1/customers", &[("email", "ada@example.com")]));
    c["id"].as_str().expect("an id").to_owned()
}

/// A customer with a saved card of the given kind: (customer id, payment method id).
pub fn customer_with_card(
    base: &str,
    handle: &StripeHandle,
    card: chatcode_fakes::stripe::TestCard,
) -> (String, String) {
    let cus = customer(base);
    let pm = handle.add_card(&cus, card).expect("a card");
    (cus, pm)
}
