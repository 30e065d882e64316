//! Webhooks from the Stripe fake to a real endpoint: signed events, retries with back-off,
//! held and released deliveries, and the signatures tests can spoil on purpose.

pub mod common;

use std::time::{Duration, Instant};

use chatcode_fakes::stripe::{self, Signing, StripeConfig, StripeHandle, sign};
use common::stripe::{Receiver, WHSEC, customer, get, now, ok, post, post_with_key, verify};
use serde_json::json;

/// How long a test waits for deliveries.
const WAIT: Duration = Duration::from_secs(10);

fn setup(receiver: &Receiver, extra: StripeConfig) -> (chatcode_fakes::FakeServer, StripeHandle) {
    stripe::spawn(StripeConfig {
        webhook_url: Some(receiver.url().to_owned()),
        webhook_secret: WHSEC.to_owned(),
        webhook_backoff: Duration::from_millis(100),
        ..extra
    })
}

#[test]
fn events_arrive_signed_with_the_endpoint_secret() {
    let receiver = Receiver::start();
    let (server, handle) = setup(&receiver, StripeConfig::default());
    let url = server.url();
    let created = post_with_key(&url, "/v1/customers", &[("email", "a@b.co")], "idem-1");
    let request_id = common::header(&created, "request-id").expect("Request-Id");
    let attempts = handle.wait_for_attempts(1, WAIT);
    assert!(attempts[0].succeeded() && attempts[0].automatic);
    assert_eq!(attempts[0].attempt, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let hook = &got[0];
    assert_eq!(
        hook.header("content-type"),
        "application/json; charset=utf-8"
    );
    assert_eq!(
        hook.header("user-agent"),
        "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
    );
    let signature = hook.header("stripe-signature");
    assert!(
        verify(signature, &hook.body, WHSEC, now(), 300),
        "{signature}"
    );
    assert!(!verify(signature, &hook.body, "whsec_other", now(), 300));
    let t: u64 = signature
        .strip_prefix("t=")
        .and_then(|s| s.split(',').next())
        .and_then(|t| t.parse().ok())
        .expect("a timestamp");
    assert_eq!(
        sign(WHSEC, t, &hook.body),
        signature,
        "sign() signs the same way"
    );
    assert_eq!(signature.matches("v1=").count(), 1);
    let event = hook.json();
    assert!(
        event["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("evt_"))
    );
    assert_eq!(event["object"], "event");
    assert_eq!(event["type"], "customer.created");
    assert_eq!(event["api_version"], "2025-06-30.basil");
    assert_eq!(event["livemode"], false);
    assert_eq!(event["pending_webhooks"], 1);
    assert_eq!(
        event["request"],
        json!({ "id": request_id, "idempotency_key": "idem-1" })
    );
    assert_eq!(event["data"]["object"]["email"], "a@b.co");
    assert!(
        event["created"]
            .as_u64()
            .is_some_and(|c| c.abs_diff(now()) < 60)
    );
    assert_eq!(attempts[0].event(), Some(event.clone()));
    // Once acknowledged, nothing is pending any more.
    let id = event["id"].as_str().expect("id");
    let fetched = ok(get(&url, &format!("/v1/events/{id}")));
    assert_eq!(fetched["pending_webhooks"], 0);
    assert_eq!(fetched["data"], event["data"]);
}

#[test]
fn failed_deliveries_are_retried_with_back_off() {
    let receiver = Receiver::start();
    receiver.answer_with(&[500, 404]);
    let (server, handle) = setup(&receiver, StripeConfig::default());
    let started = Instant::now();
    customer(&server.url());
    let attempts = handle.wait_for_attempts(3, WAIT);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "100 ms, then 200 ms"
    );
    let statuses: Vec<Option<u16>> = attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, vec![Some(500), Some(404), Some(200)]);
    let numbers: Vec<u32> = attempts.iter().map(|a| a.attempt).collect();
    assert_eq!(numbers, vec![1, 2, 3]);
    let ids: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["id"].to_string())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "the same event each time"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(handle.webhook_attempts().len(), 3, "nothing after the 2xx");
}

#[test]
fn an_endpoint_that_never_answers_is_tried_max_attempts_times() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let dead = format!("http://{}/hook", closed.local_addr().expect("addr"));
    drop(closed);
    let (server, handle) = stripe::spawn(StripeConfig {
        webhook_url: Some(dead),
        webhook_backoff: Duration::from_millis(20),
        webhook_max_attempts: 3,
        ..StripeConfig::default()
    });
    customer(&server.url());
    let attempts = handle.wait_for_attempts(3, WAIT);
    assert_eq!(attempts.len(), 3);
    assert!(
        attempts
            .iter()
            .all(|a| a.status.is_none() && a.error.is_some())
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(handle.webhook_attempts().len(), 3, "it gives up");
    let id = attempts[0].event_id.clone();
    assert_eq!(
        ok(get(&server.url(), &format!("/v1/events/{id}")))["pending_webhooks"],
        1
    );
}

#[test]
fn held_events_are_released_in_any_order_and_more_than_once() {
    let receiver = Receiver::start();
    let (server, handle) = setup(&receiver, StripeConfig::default());
    let url = server.url();
    handle.hold_webhooks();
    let cus = customer(&url);
    ok(post(
        &url,
        &format!("/v1/customers/{cus}"),
        &[("name", "Ada")],
    ));
    let held = handle.held_events();
    assert_eq!(held.len(), 2);
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        receiver.received().is_empty(),
        "nothing goes out while held"
    );
    for id in [&held[1], &held[0], &held[1]] {
        assert!(handle.release_event(id, Signing::Normal));
    }
    handle.wait_for_attempts(3, WAIT);
    let types: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        types,
        vec!["customer.updated", "customer.created", "customer.updated"]
    );
    assert!(handle.webhook_attempts().iter().all(|a| !a.automatic));
    assert!(handle.held_events().is_empty());
    assert!(!handle.release_event("evt_nothing", Signing::Normal));
    // Still holding; resuming sends what was held since, automatically.
    ok(post(
        &url,
        &format!("/v1/customers/{cus}"),
        &[("name", "Grace")],
    ));
    assert_eq!(handle.held_events().len(), 1);
    handle.clear_webhook_attempts();
    handle.resume_webhooks();
    let attempts = handle.wait_for_attempts(1, WAIT);
    assert!(attempts[0].automatic && attempts[0].succeeded());
    assert!(handle.held_events().is_empty());
}

fn released(handle: &StripeHandle, receiver: &Receiver, signing: Signing) -> (String, String) {
    let before = receiver.received().len();
    let event = handle.events().pop().expect("an event");
    assert!(handle.release_event(event["id"].as_str().expect("id"), signing));
    handle.wait_for_attempts(before + 1, WAIT);
    let hook = receiver.received().pop().expect("a delivery");
    (hook.header("stripe-signature").to_owned(), hook.body)
}

#[test]
fn signatures_can_be_spoiled_on_purpose() {
    let receiver = Receiver::start();
    let (server, handle) = setup(&receiver, StripeConfig::default());
    handle.hold_webhooks();
    customer(&server.url());
    let (header, body) = released(&handle, &receiver, Signing::Stale(Duration::from_secs(600)));
    assert!(!verify(&header, &body, WHSEC, now(), 300), "too old");
    assert!(verify(&header, &body, WHSEC, now(), 3600), "but genuine");
    let (header, body) = released(&handle, &receiver, Signing::TamperedBody);
    assert!(!verify(&header, &body, WHSEC, now(), 300));
    assert!(body.contains("\"livemode\": true"));
    let other = "whsec_the_other_secret";
    let (header, body) = released(&handle, &receiver, Signing::AlsoWith(other.into()));
    assert_eq!(header.matches("v1=").count(), 2);
    assert!(
        verify(&header, &body, WHSEC, now(), 300),
        "any v1 may match"
    );
    assert!(verify(&header, &body, other, now(), 300));
    let first_only = header
        .split(",v1=")
        .take(2)
        .collect::<Vec<_>>()
        .join(",v1=");
    assert!(
        !verify(&first_only, &body, WHSEC, now(), 300),
        "the other secret's v1 comes first"
    );
    let (header, body) = released(&handle, &receiver, Signing::OnlyWith(other.into()));
    assert!(!verify(&header, &body, WHSEC, now(), 300));
}

#[test]
fn rolling_the_secret_signs_with_both() {
    let receiver = Receiver::start();
    let (server, handle) = setup(&receiver, StripeConfig::default());
    let new_secret = "whsec_rolled_secret";
    assert!(handle.roll_webhook_secret(new_secret));
    customer(&server.url());
    handle.wait_for_attempts(1, WAIT);
    let hook = receiver.received().pop().expect("a delivery");
    let header = hook.header("stripe-signature");
    assert_eq!(header.matches("v1=").count(), 2);
    assert!(verify(header, &hook.body, WHSEC, now(), 300));
    assert!(verify(header, &hook.body, new_secret, now(), 300));
}

#[test]
fn only_enabled_events_go_to_an_endpoint_set_later() {
    let receiver = Receiver::start();
    let (server, handle) = stripe::spawn(StripeConfig {
        enabled_events: vec!["customer.updated".to_owned()],
        ..StripeConfig::default()
    });
    let url = server.url();
    assert!(!handle.roll_webhook_secret("whsec_x"), "no endpoint yet");
    let cus = customer(&url);
    handle.set_webhook_endpoint(receiver.url(), WHSEC);
    ok(post(
        &url,
        &format!("/v1/customers/{cus}"),
        &[("name", "Ada")],
    ));
    let attempts = handle.wait_for_attempts(1, WAIT);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(handle.webhook_attempts().len(), 1);
    assert_eq!(attempts[0].event_type, "customer.updated");
    let hook = receiver.received().pop().expect("a delivery");
    assert!(verify(
        hook.header("stripe-signature"),
        &hook.body,
        WHSEC,
        now(),
        300
    ));
    let events = handle.events();
    assert_eq!(
        events[0]["pending_webhooks"], 0,
        "before the endpoint existed"
    );
    assert_eq!(events[1]["pending_webhooks"], 0, "delivered");
}

#[tokio::test]
async fn async_tests_wait_without_blocking() {
    let receiver = Receiver::start();
    let (server, handle) = chatcode_fakes::start_stripe(StripeConfig {
        webhook_url: Some(receiver.url().to_owned()),
        ..StripeConfig::default()
    })
    .await
    .expect("start");
    let response = reqwest::Client::new()
        .post(format!("{}/v1/customers", server.url()))
        .bearer_auth(handle.secret_key())
        .send()
        .await
        .expect("create");
    assert_eq!(response.status(), 200);
    let attempts = handle.wait_for_attempts_async(1, WAIT).await;
    assert!(attempts[0].succeeded());
}
