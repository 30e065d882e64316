//! Saving cards with the Stripe fake over real HTTP: SetupIntents, the Stripe.js hook,
//! payment methods (list, attach, detach) and a customer's default.

pub mod common;

use chatcode_fakes::stripe::{self, HookError, TestCard};
use common::stripe::{config, customer, customer_with_card, error, get, ok, post};
use serde_json::{Value, json};

fn kinds(handle: &stripe::StripeHandle) -> Vec<String> {
    handle
        .events()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_setup_intent_is_completed_as_stripe_js_would() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    let cus = customer(&url);
    let si = ok(post(
        &url,
        "/v1/setup_intents",
        &[
            ("customer", &cus),
            ("payment_method_types[]", "card"),
            ("usage", "off_session"),
            ("metadata[user]", "u1"),
        ],
    ));
    let id = si["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("seti_"));
    assert_eq!(si["object"], "setup_intent");
    assert_eq!(si["status"], "requires_payment_method");
    assert_eq!(si["customer"], cus.as_str());
    assert_eq!(si["usage"], "off_session");
    assert_eq!(si["payment_method"], json!(null));
    assert_eq!(si["metadata"], json!({ "user": "u1" }));
    let secret = si["client_secret"].as_str().expect("a client secret");
    assert!(secret.starts_with(&format!("{id}_secret_")));
    let pm = handle
        .complete_setup_intent(&id, TestCard::Visa)
        .expect("completed");
    let si = ok(get(&url, &format!("/v1/setup_intents/{id}")));
    assert_eq!(si["status"], "succeeded");
    assert_eq!(si["payment_method"], pm.as_str());
    let card = ok(get(&url, &format!("/v1/payment_methods/{pm}")));
    assert_eq!(card["object"], "payment_method");
    assert_eq!(card["customer"], cus.as_str());
    assert_eq!(card["type"], "card");
    assert_eq!(card["card"]["brand"], "visa");
    assert_eq!(card["card"]["last4"], "4242");
    assert!(card["card"]["exp_year"].as_u64().is_some_and(|y| y > 2025));
    assert_eq!(
        kinds(&handle),
        vec![
            "customer.created",
            "setup_intent.created",
            "payment_method.attached",
            "setup_intent.succeeded"
        ]
    );
    let events = handle.events();
    assert_eq!(events[3]["data"]["object"]["payment_method"], pm.as_str());
    assert_eq!(events[3]["request"]["idempotency_key"], json!(null));
    assert_eq!(
        handle.complete_setup_intent(&id, TestCard::Visa),
        Err(HookError::WrongState(format!("{id} is succeeded")))
    );
    assert!(matches!(
        handle.complete_setup_intent("seti_missing", TestCard::Visa),
        Err(HookError::NotFound(_))
    ));
}

#[test]
fn a_declined_card_fails_the_setup() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    let cus = customer(&url);
    let si = ok(post(&url, "/v1/setup_intents", &[("customer", &cus)]));
    assert_eq!(si["automatic_payment_methods"]["enabled"], true);
    let id = si["id"].as_str().expect("id");
    assert_eq!(
        handle.complete_setup_intent(id, TestCard::Declined),
        Err(HookError::Declined("generic_decline".into()))
    );
    let si = handle.object(id).expect("the intent");
    assert_eq!(si["status"], "requires_payment_method");
    assert_eq!(si["last_setup_error"]["code"], "card_declined");
    assert!(kinds(&handle).contains(&"setup_intent.setup_failed".to_owned()));
    // Insufficient funds only matter when money moves.
    assert!(
        handle
            .complete_setup_intent(id, TestCard::InsufficientFunds)
            .is_ok()
    );
}

#[test]
fn setup_intents_confirm_server_side_with_a_test_payment_method() {
    let (server, _) = stripe::spawn(config());
    let url = server.url();
    let cus = customer(&url);
    let confirm = |pm: &str| {
        post(
            &url,
            "/v1/setup_intents",
            &[
                ("customer", &cus),
                ("payment_method", pm),
                ("confirm", "true"),
            ],
        )
    };
    let si = ok(confirm("pm_card_visa"));
    assert_eq!(si["status"], "succeeded");
    let pm = si["payment_method"].as_str().expect("a new payment method");
    assert!(pm.starts_with("pm_") && pm != "pm_card_visa");
    let three_ds = ok(confirm("pm_card_authenticationRequired"));
    assert_eq!(three_ds["status"], "requires_action");
    assert_eq!(three_ds["next_action"]["type"], "use_stripe_sdk");
    let e = error(
        confirm("pm_card_chargeDeclined"),
        402,
        "card_error",
        Some("card_declined"),
    );
    assert_eq!(e["decline_code"], "generic_decline");
    assert_eq!(e["setup_intent"]["status"], "requires_payment_method");
    assert_eq!(e["payment_method"]["card"]["last4"], "0002");
    let e = error(
        post(&url, "/v1/setup_intents", &[("confirm", "true")]),
        400,
        "invalid_request_error",
        Some("setup_intent_unexpected_state"),
    );
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("missing a payment method"))
    );
    let e = error(
        post(
            &url,
            "/v1/setup_intents",
            &[
                ("payment_method_types[]", "card"),
                ("automatic_payment_methods[enabled]", "true"),
            ],
        ),
        400,
        "invalid_request_error",
        Some("parameters_exclusive"),
    );
    assert_eq!(e["param"], "automatic_payment_methods");
    let e = error(
        post(&url, "/v1/setup_intents", &[("usage", "sometimes")]),
        400,
        "invalid_request_error",
        None,
    );
    assert_eq!(e["param"], "usage");
    let e = error(
        post(&url, "/v1/setup_intents", &[("customer", "cus_nobody")]),
        400,
        "invalid_request_error",
        Some("resource_missing"),
    );
    assert_eq!(
        (&e["param"], &e["message"]),
        (&json!("customer"), &json!("No such customer: 'cus_nobody'"))
    );
    error(
        get(&url, "/v1/setup_intents/seti_nothing"),
        404,
        "invalid_request_error",
        Some("resource_missing"),
    );
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|pm| pm["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_customers_payment_methods_are_listed_newest_first() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    let (cus, first) = customer_with_card(&url, &handle, TestCard::Visa);
    let second = handle.add_card(&cus, TestCard::Declined).expect("card");
    let third = handle
        .add_card(&cus, TestCard::InsufficientFunds)
        .expect("card");
    handle
        .add_card(&customer(&url), TestCard::Visa)
        .expect("someone else's");
    let path = format!("/v1/customers/{cus}/payment_methods");
    let all = ok(get(&url, &format!("{path}?type=card")));
    assert_eq!(all["object"], "list");
    assert_eq!(all["url"], path.as_str());
    assert_eq!(all["has_more"], false);
    assert_eq!(
        ids(&all),
        vec![third.clone(), second.clone(), first.clone()]
    );
    let page = ok(get(&url, &format!("{path}?limit=2")));
    assert_eq!(
        (ids(&page), &page["has_more"]),
        (vec![third.clone(), second.clone()], &json!(true))
    );
    let next = ok(get(
        &url,
        &format!("{path}?limit=2&starting_after={second}"),
    ));
    assert_eq!(
        (ids(&next), &next["has_more"]),
        (vec![first.clone()], &json!(false))
    );
    let back = ok(get(&url, &format!("{path}?limit=1&ending_before={first}")));
    assert_eq!(
        (ids(&back), &back["has_more"]),
        (vec![second], &json!(true))
    );
    assert!(ids(&ok(get(&url, &format!("{path}?type=sepa_debit")))).is_empty());
    let e = error(
        get(&url, &format!("{path}?limit=0")),
        400,
        "invalid_request_error",
        None,
    );
    assert_eq!(e["param"], "limit");
    let e = error(
        get(&url, &format!("{path}?type=cash")),
        400,
        "invalid_request_error",
        None,
    );
    assert_eq!(e["param"], "type");
    error(
        get(&url, "/v1/customers/cus_nobody/payment_methods"),
        404,
        "invalid_request_error",
        Some("resource_missing"),
    );
}

#[test]
fn the_default_must_be_attached_and_detaching_clears_it() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    let (cus, pm) = customer_with_card(&url, &handle, TestCard::Visa);
    let (_, other) = customer_with_card(&url, &handle, TestCard::Visa);
    let set = |pm: &str| {
        post(
            &url,
            &format!("/v1/customers/{cus}"),
            &[("invoice_settings[default_payment_method]", pm)],
        )
    };
    let e = error(
        set(&other),
        400,
        "invalid_request_error",
        Some("resource_missing"),
    );
    assert_eq!(e["param"], "invoice_settings[default_payment_method]");
    assert_eq!(
        e["message"],
        format!(
            "The customer does not have a payment method with the ID {other}. The payment method must be attached to the customer."
        )
    );
    let e = error(
        set("pm_nothing"),
        400,
        "invalid_request_error",
        Some("resource_missing"),
    );
    assert_eq!(e["message"], "No such PaymentMethod: 'pm_nothing'");
    let c = ok(set(&pm));
    assert_eq!(c["invoice_settings"]["default_payment_method"], pm.as_str());
    let detached = ok(post(&url, &format!("/v1/payment_methods/{pm}/detach"), &[]));
    assert_eq!(detached["customer"], json!(null));
    let c = ok(get(&url, &format!("/v1/customers/{cus}")));
    assert_eq!(c["invoice_settings"]["default_payment_method"], json!(null));
    let events = handle.events();
    let tail: Vec<&str> = events[events.len() - 2..]
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(tail, vec!["payment_method.detached", "customer.updated"]);
    assert_eq!(
        events[events.len() - 2]["data"]["previous_attributes"]["customer"],
        cus.as_str()
    );
    // Detached for good: neither detached again nor attached anywhere.
    error(
        post(&url, &format!("/v1/payment_methods/{pm}/detach"), &[]),
        400,
        "invalid_request_error",
        None,
    );
    let e = error(
        post(
            &url,
            &format!("/v1/payment_methods/{pm}/attach"),
            &[("customer", &cus)],
        ),
        400,
        "invalid_request_error",
        None,
    );
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("may not be used again"))
    );
}

#[test]
fn payment_methods_attach_to_one_customer() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    let cus = customer(&url);
    let attached = ok(post(
        &url,
        "/v1/payment_methods/pm_card_visa/attach",
        &[("customer", &cus)],
    ));
    let pm = attached["id"].as_str().expect("id");
    assert_eq!(attached["customer"], cus.as_str());
    assert_eq!(
        kinds(&handle).last().map(String::as_str),
        Some("payment_method.attached")
    );
    let again = ok(post(
        &url,
        &format!("/v1/payment_methods/{pm}/attach"),
        &[("customer", &cus)],
    ));
    assert_eq!(again["customer"], cus.as_str());
    let someone = customer(&url);
    let e = error(
        post(
            &url,
            &format!("/v1/payment_methods/{pm}/attach"),
            &[("customer", &someone)],
        ),
        400,
        "invalid_request_error",
        None,
    );
    assert_eq!(
        e["message"],
        "The payment method you provided has already been attached to a customer."
    );
    error(
        post(&url, &format!("/v1/payment_methods/{pm}/attach"), &[]),
        400,
        "invalid_request_error",
        Some("parameter_missing"),
    );
    error(
        post(
            &url,
            "/v1/payment_methods/pm_nothing/attach",
            &[("customer", &cus)],
        ),
        404,
        "invalid_request_error",
        Some("resource_missing"),
    );
    // A customer created with a payment method gets it attached, and as default if asked.
    let c = ok(post(
        &url,
        "/v1/customers",
        &[
            ("payment_method", "pm_card_visa"),
            ("invoice_settings[default_payment_method]", "pm_card_visa"),
        ],
    ));
    assert!(
        c["invoice_settings"]["default_payment_method"]
            .as_str()
            .is_some_and(|d| d.starts_with("pm_") && d != "pm_card_visa")
    );
}
