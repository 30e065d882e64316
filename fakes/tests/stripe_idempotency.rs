//! `Idempotency-Key` on the Stripe fake over real HTTP, and injected faults: what is replayed,
//! what is refused, what a retry may run afresh.

pub mod common;

use std::time::{Duration, Instant};

use chatcode_fakes::{
    Fault,
    stripe::{self, StripeConfig, StripeEndpoint, TestCard},
};
use common::{
    client, header,
    stripe::{KEY, config, customer_with_card, error, ok, post, post_with_key},
};
use serde_json::{Value, json};

#[test]
fn the_first_answer_is_replayed_for_the_same_request() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    let form = [("email", "ada@example.com"), ("metadata[a]", "1")];
    let first = post_with_key(&url, "/v1/customers", &form, "key-1");
    let first_id = header(&first, "request-id").expect("Request-Id");
    assert_eq!(header(&first, "idempotency-key").as_deref(), Some("key-1"));
    assert_eq!(header(&first, "idempotent-replayed"), None);
    let first = ok(first);
    // Same parameters in another order: the same request.
    let again = post_with_key(
        &url,
        "/v1/customers",
        &[("metadata[a]", "1"), ("email", "ada@example.com")],
        "key-1",
    );
    assert_eq!(
        header(&again, "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(
        header(&again, "original-request").as_deref(),
        Some(first_id.as_str())
    );
    assert_ne!(header(&again, "request-id"), Some(first_id));
    assert_eq!(ok(again), first);
    assert_eq!(handle.events().len(), 1, "one customer, one event");
    assert_eq!(handle.events()[0]["request"]["idempotency_key"], "key-1");
}

#[test]
fn a_declined_charge_is_replayed_too() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    let (cus, pm) = customer_with_card(&url, &handle, TestCard::Declined);
    let form = [
        ("amount", "1000"),
        ("currency", "usd"),
        ("customer", cus.as_str()),
        ("payment_method", pm.as_str()),
        ("confirm", "true"),
        ("off_session", "true"),
    ];
    let first = error(
        post_with_key(&url, "/v1/payment_intents", &form, "charge-1"),
        402,
        "card_error",
        Some("card_declined"),
    );
    let again = post_with_key(&url, "/v1/payment_intents", &form, "charge-1");
    assert_eq!(
        header(&again, "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(
        error(again, 402, "card_error", Some("card_declined")),
        first
    );
    let intents = handle
        .events()
        .iter()
        .filter(|e| e["type"] == "payment_intent.created")
        .count();
    assert_eq!(intents, 1, "no second attempt");
}

#[test]
fn a_key_reused_for_something_else_is_refused() {
    let (server, _) = stripe::spawn(config());
    let url = server.url();
    ok(post_with_key(&url, "/v1/customers", &[("name", "A")], "k"));
    let e = error(
        post_with_key(&url, "/v1/customers", &[("name", "B")], "k"),
        400,
        "idempotency_error",
        None,
    );
    assert_eq!(
        e["message"],
        "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'k' if you meant to execute a different request."
    );
    let e = error(
        post_with_key(&url, "/v1/setup_intents", &[("name", "A")], "k"),
        400,
        "idempotency_error",
        None,
    );
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("same endpoint"))
    );
    let long = "x".repeat(256);
    let e = error(
        post_with_key(&url, "/v1/customers", &[], &long),
        400,
        "invalid_request_error",
        None,
    );
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Idempotent key length is 256"))
    );
    ok(post_with_key(&url, "/v1/customers", &[], &"y".repeat(255)));
}

#[test]
fn keys_are_scoped_per_api_key_and_expire_after_a_day() {
    const OTHER: &str = "sk_test_second_key_of_the_same_account";
    let (server, handle) = stripe::spawn(StripeConfig {
        secret_keys: vec![KEY.to_owned(), OTHER.to_owned()],
        ..StripeConfig::default()
    });
    let url = server.url();
    let a = ok(post_with_key(&url, "/v1/customers", &[("name", "A")], "k"));
    let b = client()
        .post(format!("{url}/v1/customers"))
        .bearer_auth(OTHER)
        .header("idempotency-key", "k")
        .form(&[("name", "B")])
        .send()
        .expect("post");
    assert_eq!(header(&b, "idempotent-replayed"), None);
    assert_ne!(ok(b)["id"], a["id"]);
    handle.advance_clock(Duration::from_secs(24 * 3600 + 1));
    let fresh = ok(post_with_key(&url, "/v1/customers", &[("name", "C")], "k"));
    assert_ne!(fresh["id"], a["id"]);
}

#[test]
fn validation_errors_and_rate_limits_are_not_saved() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    error(
        post_with_key(&url, "/v1/customers", &[("colour", "red")], "k"),
        400,
        "invalid_request_error",
        Some("parameter_unknown"),
    );
    // The key is free again: a corrected request runs.
    ok(post_with_key(&url, "/v1/customers", &[("name", "A")], "k"));
    handle.traffic().fail_next(
        StripeEndpoint::CreateCustomer,
        1,
        Fault::RateLimited { retry_after: 1 },
    );
    let e = error(
        post_with_key(&url, "/v1/customers", &[("name", "B")], "k2"),
        429,
        "invalid_request_error",
        Some("rate_limit"),
    );
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Too many requests"))
    );
    let retried = post_with_key(&url, "/v1/customers", &[("name", "B")], "k2");
    assert_eq!(header(&retried, "idempotent-replayed"), None);
    assert_eq!(ok(retried)["name"], "B");
}

#[test]
fn a_server_error_is_saved_and_replayed() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    handle
        .traffic()
        .fail_next(StripeEndpoint::CreateCustomer, 1, Fault::Status(500));
    let first = error(
        post_with_key(&url, "/v1/customers", &[], "k"),
        500,
        "api_error",
        None,
    );
    let replay = post_with_key(&url, "/v1/customers", &[], "k");
    assert_eq!(
        header(&replay, "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(error(replay, 500, "api_error", None), first);
    // Without a key the next call just works.
    ok(post(&url, "/v1/customers", &[]));
    assert_eq!(handle.traffic().calls(StripeEndpoint::CreateCustomer), 3);
}

#[test]
fn injected_statuses_use_stripes_error_shapes() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    let cases: [(u16, &str, Option<&str>); 5] = [
        (401, "invalid_request_error", None),
        (402, "card_error", Some("card_declined")),
        (409, "invalid_request_error", None),
        (503, "api_error", None),
        (424, "api_error", None),
    ];
    for (status, kind, code) in cases {
        handle
            .traffic()
            .fail_next(StripeEndpoint::GetCustomer, 1, Fault::Status(status));
        let e = error(
            common::stripe::get(&url, "/v1/customers/cus_1"),
            status,
            kind,
            code,
        );
        assert!(e["request_log_url"].is_string());
    }
    error(
        common::stripe::get(&url, "/v1/customers/cus_1"),
        404,
        "invalid_request_error",
        Some("resource_missing"),
    );
}

fn impatient_create(url: &str, key: &str) -> bool {
    let impatient = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    impatient
        .post(format!("{url}/v1/customers"))
        .bearer_auth(KEY)
        .header("idempotency-key", key)
        .form(&[("name", "L")])
        .send()
        .is_err_and(|e| e.is_timeout())
}

#[test]
fn a_lost_answer_is_replayed_at_once() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    handle.traffic().fail_next(
        StripeEndpoint::CreateCustomer,
        1,
        Fault::Late(Duration::from_millis(1500)),
    );
    assert!(impatient_create(&url, "late"), "the answer is late");
    // The work was done and saved before the answer went missing.
    let replay = post_with_key(&url, "/v1/customers", &[("name", "L")], "late");
    assert_eq!(
        header(&replay, "idempotent-replayed").as_deref(),
        Some("true")
    );
    let customers: Vec<Value> = handle
        .events()
        .into_iter()
        .filter(|e| e["type"] == "customer.created")
        .collect();
    assert_eq!(customers.len(), 1);
    assert_eq!(ok(replay)["id"], customers[0]["data"]["object"]["id"]);
    assert_eq!(customers[0]["request"]["idempotency_key"], json!("late"));
}

#[test]
fn a_request_still_running_holds_its_key() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    handle.traffic().fail_next(
        StripeEndpoint::CreateCustomer,
        1,
        Fault::Hang(Duration::from_millis(2000)),
    );
    let started = Instant::now();
    assert!(impatient_create(&url, "slow"), "the first request hangs");
    let e = error(
        post_with_key(&url, "/v1/customers", &[("name", "L")], "slow"),
        409,
        "idempotency_error",
        None,
    );
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("another in-progress request"))
    );
    std::thread::sleep(Duration::from_millis(2200).saturating_sub(started.elapsed()));
    let replay = post_with_key(&url, "/v1/customers", &[("name", "L")], "slow");
    assert_eq!(
        header(&replay, "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(ok(replay)["name"], "L");
}
