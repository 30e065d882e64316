//! Charging saved cards with the Stripe fake over real HTTP: PaymentIntents as Stripe's test
//! cards behave, and the Charge each creates.

pub mod common;

use chatcode_fakes::stripe::{self, HookError, StripeHandle, TestCard};
use common::stripe::{config, customer, customer_with_card, error, get, ok, post};
use reqwest::blocking::Response;
use serde_json::{Value, json};

fn charge(url: &str, cus: &str, pm: &str, amount: &str) -> Response {
    post(
        url,
        "/v1/payment_intents",
        &[
            ("amount", amount),
            ("currency", "usd"),
            ("customer", cus),
            ("payment_method", pm),
            ("off_session", "true"),
            ("confirm", "true"),
            ("metadata[credits]", "500"),
            ("description", "500 credits"),
        ],
    )
}

fn kinds(handle: &StripeHandle) -> Vec<String> {
    handle
        .events()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_plain_card_is_charged_at_once() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    let (cus, pm) = customer_with_card(&url, &handle, TestCard::Visa);
    let pi = ok(charge(&url, &cus, &pm, "1099"));
    let id = pi["id"].as_str().expect("id");
    assert!(id.starts_with("pi_"));
    assert_eq!(pi["object"], "payment_intent");
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(
        (&pi["amount"], &pi["amount_received"]),
        (&json!(1099), &json!(1099))
    );
    assert_eq!(pi["currency"], "usd");
    assert_eq!(pi["customer"], cus.as_str());
    assert_eq!(pi["payment_method"], pm.as_str());
    assert_eq!(pi["metadata"], json!({ "credits": "500" }));
    assert_eq!(pi["description"], "500 credits");
    assert!(
        pi["client_secret"]
            .as_str()
            .is_some_and(|s| s.starts_with(&format!("{id}_secret_")))
    );
    let ch = pi["latest_charge"].as_str().expect("a charge");
    assert!(ch.starts_with("ch_"));
    let c = ok(get(&url, &format!("/v1/charges/{ch}")));
    assert_eq!(c["object"], "charge");
    assert_eq!(
        (&c["status"], &c["paid"], &c["captured"]),
        (&json!("succeeded"), &json!(true), &json!(true))
    );
    assert_eq!(c["payment_intent"], id);
    assert_eq!(c["amount"], 1099);
    assert_eq!(c["payment_method_details"]["card"]["last4"], "4242");
    assert_eq!(c["outcome"]["type"], "authorized");
    assert_eq!(ok(get(&url, &format!("/v1/payment_intents/{id}"))), pi);
    let kinds = kinds(&handle);
    let tail = &kinds[kinds.len() - 3..];
    assert_eq!(
        tail,
        [
            "payment_intent.created",
            "charge.succeeded",
            "payment_intent.succeeded"
        ]
    );
    let succeeded = handle.events().pop().expect("an event");
    assert_eq!(succeeded["data"]["object"]["amount_received"], 1099);
    assert!(
        succeeded["request"]["id"]
            .as_str()
            .is_some_and(|r| r.starts_with("req_"))
    );
}

fn declined(handle: &StripeHandle, url: &str, card: TestCard, code: &str) -> (Value, String) {
    let (cus, pm) = customer_with_card(url, handle, card);
    let response = charge(url, &cus, &pm, "2000");
    (error(response, 402, "card_error", Some(code)), pm)
}

#[test]
fn an_off_session_charge_can_require_authentication() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    let (e, pm) = declined(
        &handle,
        &url,
        TestCard::AuthenticationRequired,
        "authentication_required",
    );
    assert_eq!(
        (&e["code"], &e["decline_code"]),
        (
            &json!("authentication_required"),
            &json!("authentication_required")
        )
    );
    assert_eq!(
        e["message"],
        "Your card was declined. This transaction requires authentication."
    );
    assert_eq!(
        e["doc_url"],
        "https://stripe.com/docs/error-codes/authentication-required"
    );
    let pi = &e["payment_intent"];
    assert_eq!(pi["status"], "requires_payment_method");
    assert_eq!(pi["payment_method"], json!(null));
    assert_eq!(
        pi["last_payment_error"]["payment_method"]["id"],
        pm.as_str()
    );
    assert_eq!(pi["last_payment_error"]["code"], "authentication_required");
    assert!(
        pi["client_secret"]
            .as_str()
            .is_some_and(|s| s.contains("_secret_"))
    );
    assert_eq!(e["payment_method"]["id"], pm.as_str());
    let id = pi["id"].as_str().expect("id");
    assert_eq!(
        kinds(&handle).last().map(String::as_str),
        Some("payment_intent.payment_failed")
    );
    // The customer comes back on-session and passes 3D Secure.
    handle
        .authenticate_payment_intent(id)
        .expect("authenticated");
    let pi = ok(get(&url, &format!("/v1/payment_intents/{id}")));
    assert_eq!(
        (&pi["status"], &pi["amount_received"]),
        (&json!("succeeded"), &json!(2000))
    );
    assert_eq!(pi["payment_method"], pm.as_str());
    assert_eq!(
        kinds(&handle).last().map(String::as_str),
        Some("payment_intent.succeeded")
    );
    assert!(matches!(
        handle.authenticate_payment_intent(id),
        Err(HookError::WrongState(_))
    ));
}

#[test]
fn declining_cards_decline_with_their_codes() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    for (card, decline_code, message) in [
        (
            TestCard::Declined,
            "generic_decline",
            "Your card was declined.",
        ),
        (
            TestCard::InsufficientFunds,
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
    ] {
        let (e, _) = declined(&handle, &url, card, "card_declined");
        assert_eq!(
            (&e["code"], &e["decline_code"]),
            (&json!("card_declined"), &json!(decline_code))
        );
        assert_eq!(e["message"], message);
        assert_eq!(e["payment_intent"]["status"], "requires_payment_method");
        let ch = e["charge"].as_str().expect("a failed charge");
        let c = handle.object(ch).expect("the charge");
        assert_eq!(
            (&c["status"], &c["paid"]),
            (&json!("failed"), &json!(false))
        );
        assert_eq!(c["failure_code"], "card_declined");
        assert_eq!(c["outcome"]["reason"], decline_code);
        let id = e["payment_intent"]["id"].as_str().expect("id");
        assert_eq!(
            handle.authenticate_payment_intent(id),
            Err(HookError::Declined(decline_code.to_owned()))
        );
    }
    let kinds = kinds(&handle);
    assert!(kinds.contains(&"charge.failed".to_owned()));
    assert!(!kinds.contains(&"payment_intent.succeeded".to_owned()));
}

#[test]
fn on_session_confirmation_waits_for_3d_secure() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    let (cus, pm) = customer_with_card(&url, &handle, TestCard::AuthenticationRequired);
    let pi = ok(post(
        &url,
        "/v1/payment_intents",
        &[
            ("amount", "500"),
            ("currency", "eur"),
            ("customer", &cus),
            ("payment_method", &pm),
            ("confirm", "true"),
        ],
    ));
    assert_eq!(pi["status"], "requires_action");
    assert_eq!(pi["next_action"]["type"], "use_stripe_sdk");
    handle
        .authenticate_payment_intent(pi["id"].as_str().expect("id"))
        .expect("paid");
    // A card that starts failing later: the test switches its behaviour.
    assert!(handle.set_card(&pm, TestCard::InsufficientFunds));
    let e = error(
        charge(&url, &cus, &pm, "700"),
        402,
        "card_error",
        Some("card_declined"),
    );
    assert_eq!(e["decline_code"], "insufficient_funds");
    assert!(!handle.set_card("pm_nothing", TestCard::Visa));
}

#[test]
fn payment_intents_are_validated_like_stripe() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    let (cus, pm) = customer_with_card(&url, &handle, TestCard::Visa);
    let e = error(
        charge(&url, &cus, &pm, "49"),
        400,
        "invalid_request_error",
        Some("amount_too_small"),
    );
    assert_eq!(
        (&e["param"], &e["message"]),
        (
            &json!("amount"),
            &json!("Amount must be at least $0.50 usd")
        )
    );
    let e = error(
        post(
            &url,
            "/v1/payment_intents",
            &[("amount", "100"), ("currency", "zzz")],
        ),
        400,
        "invalid_request_error",
        None,
    );
    assert_eq!(e["param"], "currency");
    let e = error(
        post(
            &url,
            "/v1/payment_intents",
            &[("amount", "100"), ("currency", "usd"), ("confirm", "true")],
        ),
        400,
        "invalid_request_error",
        Some("payment_intent_unexpected_state"),
    );
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("missing a payment method"))
    );
    let e = error(
        post(
            &url,
            "/v1/payment_intents",
            &[
                ("amount", "100"),
                ("currency", "usd"),
                ("off_session", "true"),
            ],
        ),
        400,
        "invalid_request_error",
        None,
    );
    assert_eq!(e["param"], "off_session");
    let someone = customer(&url);
    let e = error(
        charge(&url, &someone, &pm, "100"),
        400,
        "invalid_request_error",
        None,
    );
    assert_eq!(e["param"], "payment_method");
    let e = error(
        charge(&url, "cus_nobody", &pm, "100"),
        400,
        "invalid_request_error",
        Some("resource_missing"),
    );
    assert_eq!(e["param"], "customer");
    let e = error(
        charge(&url, &cus, "pm_nothing", "100"),
        400,
        "invalid_request_error",
        Some("resource_missing"),
    );
    assert_eq!(e["message"], "No such PaymentMethod: 'pm_nothing'");
    // Unconfirmed intents wait; a test payment method works without a customer.
    let waiting = ok(post(
        &url,
        "/v1/payment_intents",
        &[("amount", "100"), ("currency", "usd")],
    ));
    assert_eq!(waiting["status"], "requires_payment_method");
    assert_eq!(waiting["automatic_payment_methods"]["enabled"], true);
    let anonymous = ok(post(
        &url,
        "/v1/payment_intents",
        &[
            ("amount", "100"),
            ("currency", "usd"),
            ("payment_method", "pm_card_visa"),
            ("confirm", "true"),
        ],
    ));
    assert_eq!(anonymous["status"], "succeeded");
    let e = error(
        get(&url, "/v1/payment_intents/pi_nothing"),
        404,
        "invalid_request_error",
        Some("resource_missing"),
    );
    assert_eq!(e["message"], "No such payment_intent: 'pi_nothing'");
    error(
        get(&url, "/v1/charges/ch_nothing"),
        404,
        "invalid_request_error",
        Some("resource_missing"),
    );
}
