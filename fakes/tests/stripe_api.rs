//! The Stripe fake's gate over real HTTP: keys, versions, headers, form decoding, parameter
//! errors, and customers.

pub mod common;

use chatcode_fakes::stripe::{self, StripeConfig, StripeEndpoint};
use common::{
    client, header,
    stripe::{KEY, config, error, get, ok, post},
};
use serde_json::json;

#[test]
fn keys_are_checked_bearer_or_basic() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    let none = client()
        .post(format!("{url}/v1/customers"))
        .send()
        .expect("post");
    assert_eq!(
        header(&none, "www-authenticate").as_deref(),
        Some("Basic realm=\"Stripe\"")
    );
    let e = error(none, 401, "invalid_request_error", None);
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("You did not provide an API key."))
    );
    let wrong = client()
        .get(format!("{url}/v1/customers/cus_1"))
        .bearer_auth("sk_test_wrongwrongwrong1234")
        .send()
        .expect("get");
    let e = error(wrong, 401, "invalid_request_error", None);
    assert_eq!(
        e["message"],
        "Invalid API Key provided: sk_test_***************1234"
    );
    // `curl -u sk_test_…:` works as well as Bearer.
    let basic = client()
        .post(format!("{url}/v1/customers"))
        .basic_auth(KEY, Some(""))
        .send()
        .expect("post");
    assert_eq!(basic.status(), 200);
    assert_eq!(handle.traffic().calls(StripeEndpoint::CreateCustomer), 2);
    assert_eq!(handle.secret_key(), KEY);
}

#[test]
fn answers_carry_request_id_and_version() {
    let (server, _) = stripe::spawn(config());
    let url = server.url();
    let plain = post(&url, "/v1/customers", &[]);
    let request_id = header(&plain, "request-id").expect("Request-Id");
    assert!(request_id.starts_with("req_") && request_id.len() == 18);
    assert_eq!(
        header(&plain, "stripe-version").as_deref(),
        Some("2025-06-30.basil")
    );
    assert_eq!(header(&plain, "original-request"), Some(request_id));
    assert_eq!(
        header(&plain, "content-type").as_deref(),
        Some("application/json")
    );
    let pinned = client()
        .post(format!("{url}/v1/customers"))
        .bearer_auth(KEY)
        .header("stripe-version", "2024-06-20")
        .send()
        .expect("post");
    assert_eq!(
        header(&pinned, "stripe-version").as_deref(),
        Some("2024-06-20")
    );
    let bad = client()
        .post(format!("{url}/v1/customers"))
        .bearer_auth(KEY)
        .header("stripe-version", "latest")
        .send()
        .expect("post");
    let e = error(bad, 400, "invalid_request_error", None);
    assert_eq!(e["message"], "Invalid Stripe API version: latest");
}

#[test]
fn unknown_paths_and_methods_are_stripes_404() {
    let (server, _) = stripe::spawn(config());
    let url = server.url();
    // Stripe answers these before any key check, without a Request-Id.
    for (method, path) in [("GET", "/v1/nothing"), ("DELETE", "/v1/customers/cus_1")] {
        let response = client()
            .request(method.parse().expect("a method"), format!("{url}{path}"))
            .send()
            .expect("request");
        assert_eq!(response.status(), 404);
        let body: serde_json::Value = response.json().expect("JSON");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        let expected = format!("Unrecognized request URL ({method}: {path}).");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(&expected)),
            "{body}"
        );
    }
}

#[test]
fn json_bodies_are_refused() {
    let (server, handle) = stripe::spawn(config());
    let response = client()
        .post(format!("{}/v1/customers", server.url()))
        .bearer_auth(KEY)
        .json(&json!({ "email": "a@b.co" }))
        .send()
        .expect("post");
    let e = error(response, 400, "invalid_request_error", None);
    assert_eq!(
        e["message"],
        "Invalid request: unsupported Content-Type application/json. If error persists and you need assistance, please contact support@stripe.com."
    );
    assert!(handle.events().is_empty(), "nothing was created");
}

#[test]
fn bracketed_parameters_nest() {
    let (server, _) = stripe::spawn(config());
    let url = server.url();
    // Literal brackets, as curl sends them, and percent-encoded ones, as the SDKs do.
    let raw = client()
        .post(format!("{url}/v1/customers"))
        .bearer_auth(KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=Ada+Lovelace&metadata[order_id]=o-1&metadata[plan]=pro")
        .send()
        .expect("post");
    let c = ok(raw);
    assert_eq!(c["name"], "Ada Lovelace");
    assert_eq!(c["metadata"], json!({ "order_id": "o-1", "plan": "pro" }));
    let encoded = ok(post(
        &url,
        "/v1/setup_intents",
        &[
            ("payment_method_types[0]", "card"),
            ("metadata[k]", "v"),
            ("usage", "on_session"),
        ],
    ));
    assert_eq!(encoded["payment_method_types"], json!(["card"]));
    assert_eq!(encoded["automatic_payment_methods"], json!(null));
    assert_eq!(encoded["usage"], "on_session");
    let listed = ok(post(
        &url,
        "/v1/setup_intents",
        &[("payment_method_types[]", "card")],
    ));
    assert_eq!(listed["payment_method_types"], json!(["card"]));
    let automatic = ok(post(
        &url,
        "/v1/setup_intents",
        &[("automatic_payment_methods[enabled]", "true")],
    ));
    assert_eq!(automatic["automatic_payment_methods"]["enabled"], true);
}

#[test]
fn parameter_errors_name_the_parameter() {
    let (server, _) = stripe::spawn(config());
    let url = server.url();
    let e = error(
        post(&url, "/v1/customers", &[("colour", "red")]),
        400,
        "invalid_request_error",
        Some("parameter_unknown"),
    );
    assert_eq!(
        (&e["param"], &e["message"]),
        (
            &json!("colour"),
            &json!("Received unknown parameter: colour")
        )
    );
    assert_eq!(
        e["doc_url"],
        "https://stripe.com/docs/error-codes/parameter-unknown"
    );
    assert!(
        e["request_log_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://dashboard.stripe.com/test/logs/req_"))
    );
    let e = error(
        post(
            &url,
            "/v1/customers",
            &[("invoice_settings[default_pm]", "pm_1")],
        ),
        400,
        "invalid_request_error",
        Some("parameter_unknown"),
    );
    assert_eq!(e["param"], "invoice_settings[default_pm]");
    let e = error(
        post(&url, "/v1/payment_intents", &[("currency", "usd")]),
        400,
        "invalid_request_error",
        Some("parameter_missing"),
    );
    assert_eq!(
        (&e["param"], &e["message"]),
        (&json!("amount"), &json!("Missing required param: amount."))
    );
    let e = error(
        post(
            &url,
            "/v1/payment_intents",
            &[("amount", "10.99"), ("currency", "usd")],
        ),
        400,
        "invalid_request_error",
        Some("parameter_invalid_integer"),
    );
    assert_eq!(
        (&e["param"], &e["message"]),
        (&json!("amount"), &json!("Invalid integer: 10.99"))
    );
    let e = error(
        post(
            &url,
            "/v1/payment_intents",
            &[("amount", ""), ("currency", "usd")],
        ),
        400,
        "invalid_request_error",
        Some("parameter_invalid_empty"),
    );
    assert_eq!(e["param"], "amount");
    let e = error(
        post(&url, "/v1/setup_intents", &[("confirm", "yes")]),
        400,
        "invalid_request_error",
        None,
    );
    assert_eq!(e["param"], "confirm");
    let e = error(
        post(&url, "/v1/customers", &[("a", "1"), ("a[b]", "2")]),
        400,
        "invalid_request_error",
        None,
    );
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Invalid request:"))
    );
    let e = error(
        get(&url, "/v1/customers/cus_x?expand[]=x"),
        400,
        "invalid_request_error",
        Some("parameter_unknown"),
    );
    assert_eq!(e["param"], "expand");
}

#[test]
fn customers_are_created_read_and_updated() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    let c = ok(post(
        &url,
        "/v1/customers",
        &[
            ("email", "ada@example.com"),
            ("name", "Ada"),
            ("metadata[user_id]", "u1"),
            ("metadata[team]", "t1"),
        ],
    ));
    let id = c["id"].as_str().expect("id");
    assert!(id.starts_with("cus_") && id.len() == 18);
    assert_eq!(c["object"], "customer");
    assert_eq!(c["livemode"], false);
    assert!(c["created"].as_u64().is_some_and(|t| t > 1_700_000_000));
    assert_eq!(c["invoice_settings"]["default_payment_method"], json!(null));
    assert_eq!(ok(get(&url, &format!("/v1/customers/{id}"))), c);
    let updated = ok(post(
        &url,
        &format!("/v1/customers/{id}"),
        &[
            ("name", ""),
            ("metadata[team]", ""),
            ("metadata[plan]", "pro"),
        ],
    ));
    assert_eq!(updated["name"], json!(null), "an empty value unsets");
    assert_eq!(updated["email"], "ada@example.com");
    assert_eq!(
        updated["metadata"],
        json!({ "user_id": "u1", "plan": "pro" })
    );
    let kinds: Vec<String> = handle
        .events()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(kinds, vec!["customer.created", "customer.updated"]);
    let previous = &handle.events()[1]["data"]["previous_attributes"];
    assert_eq!(previous["name"], "Ada");
    assert_eq!(previous["metadata"], json!({ "team": "t1", "plan": null }));
    let e = error(
        get(&url, "/v1/customers/cus_missing"),
        404,
        "invalid_request_error",
        Some("resource_missing"),
    );
    assert_eq!(
        (&e["param"], &e["message"]),
        (&json!("id"), &json!("No such customer: 'cus_missing'"))
    );
    let e = error(
        post(&url, "/v1/customers", &[("email", "not-an-email")]),
        400,
        "invalid_request_error",
        Some("email_invalid"),
    );
    assert_eq!(e["param"], "email");
}

#[tokio::test]
async fn starts_from_async_tests_too() {
    let (server, handle) = chatcode_fakes::start_stripe(StripeConfig::default())
        .await
        .expect("start");
    let response = reqwest::Client::new()
        .post(format!("{}/v1/customers", server.url()))
        .bearer_auth(KEY)
        .form(&[("email", "a@b.co")])
        .send()
        .await
        .expect("create");
    assert_eq!(response.status(), 200);
    assert_eq!(handle.traffic().calls(StripeEndpoint::CreateCustomer), 1);
}
