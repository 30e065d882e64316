//! Stripe through `chatcode up` and the Stripe fake: webhooks signed by the test (valid,
//! stale, tampered, a rotated secret, a duplicate, events out of order), purchases that charge
//! once per key, refunds and disputes that debit once, cards that decline or need
//! authentication, Stripe's 429 and 5xx, and payment methods only their owner may touch.
//!
//! Each test starts the app with `chatcode_testkit::chatcode_up(…)` and the fakes it needs
//! (`billing_support`).

mod billing_support;

use std::thread;

use billing_support::{Options, PUBLISHABLE, Setup, WHSEC, now_secs, signature};
use chatcode_fakes::{
    Fault,
    stripe::{StripeEndpoint, TestCard},
};
use chatcode_testkit::Browser;
use serde_json::json;

/// A purchase whose off-session charge needs authentication (so its answer grants nothing),
/// authenticated by the customer, then refunded in `refunds` steps (cents refunded each).
/// Returns the PaymentIntent.
fn paid_by_authentication_then_refunded(
    setup: &Setup,
    browser: &mut Browser<'_>,
    refunds: &[u64],
) -> String {
    setup.add_card(browser, TestCard::AuthenticationRequired);
    let (status, body) = setup.buy(browser, "small", "order-1");
    assert_eq!(status, 402, "{body}");
    let error = &body["error"];
    assert_eq!(error["code"], "authentication_required");
    let pi = error["payment_intent"]["id"].as_str().unwrap().to_owned();
    assert!(
        error["payment_intent"]["client_secret"]
            .as_str()
            .unwrap()
            .starts_with(&pi)
    );
    assert!(error["purchase_id"].as_str().unwrap().starts_with("pur-"));
    setup.stripe.authenticate_payment_intent(&pi).unwrap();
    let charge = setup.stripe.object(&pi).unwrap()["latest_charge"]
        .as_str()
        .unwrap()
        .to_owned();
    for cents in refunds {
        setup.stripe.refund(&charge, Some(*cents)).unwrap();
    }
    pi
}

#[test]
fn webhooks_are_verified_deduplicated_and_order_free() {
    let setup = Setup::new(Options {
        deliver_webhooks: false,
        ..Options::default()
    });
    let (mut alice, alice_id) = setup.user("alice");
    let pi = paid_by_authentication_then_refunded(&setup, &mut alice, &[500]);
    assert_eq!(setup.balance(&mut alice), 1000, "nothing granted yet");
    let paid = setup.events("payment_intent.succeeded", &pi)[0].to_string();
    let refunded = setup.events("charge.refunded", &pi)[0].to_string();
    let now = now_secs();

    // Refused: no signature, a stale one, a tampered body, another secret.
    let refusals = [
        (paid.clone(), None),
        (paid.clone(), Some(signature(&[WHSEC], now - 301, &paid))),
        (
            paid.replacen("\"amount\":500", "\"amount\":5", 1),
            Some(signature(&[WHSEC], now, &paid)),
        ),
        (
            paid.clone(),
            Some(signature(&["whsec_someoneelse"], now, &paid)),
        ),
    ];
    for (body, header) in refusals {
        let (status, answer) = setup.deliver(&body, header.as_deref());
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["code"], "invalid_signature");
    }
    assert_eq!(setup.ledger(&alice_id).len(), 1);

    // Out of order: the refund first. The charge was paid, so the purchase is granted, then
    // taken back.
    let (status, answer) = setup.deliver(&refunded, Some(&signature(&[WHSEC], now, &refunded)));
    assert_eq!(
        (status, &answer["duplicate"]),
        (200, &json!(false)),
        "{answer}"
    );
    // The payment's own event, signed during a secret rotation (two v1, the old one first).
    let rotated = signature(&["whsec_oldsecretbeingrolled", WHSEC], now, &paid);
    let (status, answer) = setup.deliver(&paid, Some(&rotated));
    assert_eq!(
        (status, &answer["duplicate"]),
        (200, &json!(false)),
        "{answer}"
    );
    // A second delivery does nothing.
    let (status, answer) = setup.deliver(&refunded, Some(&signature(&[WHSEC], now, &refunded)));
    assert_eq!((status, &answer["duplicate"]), (200, &json!(true)));
    let expected = [
        ("signup_grant".to_owned(), 1000),
        ("purchase".to_owned(), 500),
        ("refund".to_owned(), -500),
    ];
    assert_eq!(setup.ledger(&alice_id), expected);

    // The same events in their own order give the same ledger.
    let (mut bob, bob_id) = setup.user("bob");
    let pi = paid_by_authentication_then_refunded(&setup, &mut bob, &[500]);
    for kind in [
        "payment_intent.succeeded",
        "charge.refunded",
        "payment_intent.succeeded",
    ] {
        let body = setup.events(kind, &pi)[0].to_string();
        assert_eq!(
            setup
                .deliver(&body, Some(&signature(&[WHSEC], now, &body)))
                .0,
            200
        );
    }
    assert_eq!(setup.ledger(&bob_id), expected);

    // Two partial refunds (100, then 300 more cents), the newer report first: 400 credits.
    let (mut carol, carol_id) = setup.user("carol");
    let pi = paid_by_authentication_then_refunded(&setup, &mut carol, &[100, 300]);
    let mut events = setup.events("charge.refunded", &pi);
    events.reverse();
    events.push(setup.events("payment_intent.succeeded", &pi)[0].clone());
    for event in events {
        let body = event.to_string();
        assert_eq!(
            setup
                .deliver(&body, Some(&signature(&[WHSEC], now, &body)))
                .0,
            200
        );
    }
    assert_eq!(
        setup.ledger(&carol_id),
        [
            ("signup_grant".to_owned(), 1000),
            ("purchase".to_owned(), 500),
            ("refund".to_owned(), -400),
        ]
    );
    assert_eq!(setup.balance(&mut carol), 1100);
}

#[test]
fn purchases_charge_once_per_key_and_refunds_and_disputes_debit_once() {
    let setup = Setup::new(Options::default());
    let (mut alice, alice_id) = setup.user("alice");
    let card = setup.add_card(&mut alice, TestCard::Visa);
    let traffic = setup.stripe.traffic();

    // Bought, granted at once; the same key again is the same purchase: one charge, one grant.
    let (status, first) = setup.buy(&mut alice, "small", "order-1");
    assert_eq!(status, 200, "{first}\n{}", setup.logs());
    assert_eq!(first["purchase"]["status"], "succeeded");
    assert_eq!(first["balance"], 1500);
    let (status, again) = setup.buy(&mut alice, "small", "order-1");
    assert_eq!((status, &again), (200, &first));
    assert_eq!(traffic.calls(StripeEndpoint::CreatePaymentIntent), 1);
    let (status, clash) = setup.buy(&mut alice, "large", "order-1");
    assert_eq!(
        (status, clash["error"]["code"].as_str()),
        (409, Some("idempotency_conflict"))
    );
    let created = traffic.requests_to(StripeEndpoint::CreatePaymentIntent);
    let charge = &created[0];
    assert_eq!(charge.header("stripe-version"), Some("2025-06-30.basil"));
    let purchase_id = first["purchase"]["id"].as_str().unwrap();
    assert_eq!(
        charge.header("idempotency-key"),
        Some(format!("purchase-{purchase_id}").as_str())
    );
    for field in [
        "off_session=true",
        "confirm=true",
        "amount=500",
        "currency=usd",
    ] {
        assert!(charge.body.contains(field), "{}", charge.body);
    }
    assert!(
        charge
            .body
            .contains(&format!("metadata[purchase_id]={purchase_id}"))
    );

    // The same key twice at once: still one charge and one grant.
    let cookie = alice.cookie.clone().unwrap();
    let shared = &setup;
    let statuses: Vec<u16> = thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let cookie = cookie.clone();
                scope.spawn(move || {
                    let mut browser = Browser::new(&shared.app);
                    browser.cookie = Some(cookie);
                    shared.buy(&mut browser, "large", "order-2").0
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert!(
        statuses.iter().all(|s| [200, 409].contains(s)),
        "{statuses:?}"
    );
    let (status, second) = setup.buy(&mut alice, "large", "order-2");
    assert_eq!(status, 200, "{second}");
    let pi1 = first["purchase"]["payment_intent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pi2 = second["purchase"]["payment_intent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second_id = second["purchase"]["id"].as_str().unwrap();
    let intents = setup
        .stripe
        .events()
        .into_iter()
        .filter(|e| e["type"] == "payment_intent.created")
        .filter(|e| e["data"]["object"]["metadata"]["purchase_id"] == second_id)
        .count();
    assert_eq!(intents, 1, "one PaymentIntent for the purchase");
    assert_eq!(setup.balance(&mut alice), 3500);
    // Stripe's own events come later and grant nothing more.
    setup.wait_delivered("payment_intent.succeeded", &pi1);
    setup.wait_delivered("payment_intent.succeeded", &pi2);
    assert_eq!(setup.balance(&mut alice), 3500);

    // A declined card: 402 with the decline code, again for the same key; nothing granted.
    setup.stripe.set_card(&card, TestCard::InsufficientFunds);
    for _ in 0..2 {
        let (status, declined) = setup.buy(&mut alice, "small", "order-3");
        assert_eq!(status, 402, "{declined}");
        assert_eq!(declined["error"]["code"], "card_declined");
        assert_eq!(declined["error"]["decline_code"], "insufficient_funds");
    }
    setup.stripe.set_card(&card, TestCard::Visa);

    // Stripe's 429 is 503 and its 5xx 502; the same key afterwards charges once.
    traffic.fail_next(
        StripeEndpoint::CreatePaymentIntent,
        1,
        Fault::RateLimited { retry_after: 1 },
    );
    assert_eq!(setup.buy(&mut alice, "small", "order-4").0, 503);
    traffic.fail_next(StripeEndpoint::CreatePaymentIntent, 1, Fault::Status(500));
    assert_eq!(setup.buy(&mut alice, "small", "order-5").0, 502);
    assert_eq!(setup.buy(&mut alice, "small", "order-4").0, 200);
    assert_eq!(setup.balance(&mut alice), 4000);

    // A full refund debits the purchase once, however often its event comes.
    let charge_of = |pi: &str| {
        setup.stripe.object(pi).unwrap()["latest_charge"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    setup.stripe.refund(&charge_of(&pi1), None).unwrap();
    setup.wait_delivered("charge.refunded", &pi1);
    assert_eq!(setup.balance(&mut alice), 3500);
    let refund_event = setup.events("charge.refunded", &pi1)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = setup.redeliver(&refund_event);
    assert!(
        again.succeeded() && again.response.contains("\"duplicate\":true"),
        "{again:?}"
    );
    assert_eq!(setup.balance(&mut alice), 3500);

    // A dispute debits once and freezes purchases.
    setup
        .stripe
        .dispute(&charge_of(&pi2), "fraudulent")
        .unwrap();
    setup.wait_delivered("charge.dispute.created", &pi2);
    assert_eq!(setup.balance(&mut alice), 1500);
    let dispute_event = setup.events("charge.dispute.created", &pi2)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = setup.redeliver(&dispute_event);
    assert!(
        again.succeeded() && again.response.contains("\"duplicate\":true"),
        "{again:?}"
    );
    assert_eq!(setup.balance(&mut alice), 1500);
    let (status, frozen) = setup.buy(&mut alice, "small", "order-6");
    assert_eq!(
        (status, frozen["error"]["code"].as_str()),
        (403, Some("purchases_frozen"))
    );
    let (_, balance) = alice.send("GET", "/api/billing/balance", None);
    assert_eq!(balance["purchases_frozen"], true);

    let kinds: Vec<(String, i64)> = setup.ledger(&alice_id);
    assert_eq!(
        kinds,
        [
            ("signup_grant".to_owned(), 1000),
            ("purchase".to_owned(), 500),
            ("purchase".to_owned(), 2000),
            ("purchase".to_owned(), 500),
            ("refund".to_owned(), -500),
            ("dispute".to_owned(), -2000),
        ]
    );
    let (_, purchases) = alice.send("GET", "/api/billing/purchases", None);
    let statuses: Vec<&str> = purchases["purchases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"failed") && statuses.contains(&"pending"),
        "{statuses:?}"
    );
}

#[test]
fn authentication_is_finished_on_session_and_the_same_purchase_then_pays() {
    let setup = Setup::new(Options::default());
    let (mut alice, alice_id) = setup.user("alice");
    setup.add_card(&mut alice, TestCard::AuthenticationRequired);
    let (status, body) = setup.buy(&mut alice, "large", "order-1");
    assert_eq!(status, 402, "{body}");
    let pi = body["error"]["payment_intent"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(body["error"]["payment_intent"]["payment_method"].is_string());
    // Posting again before authenticating answers the same.
    let (status, again) = setup.buy(&mut alice, "large", "order-1");
    assert_eq!(
        (status, &again["error"]["payment_intent"]["id"]),
        (402, &json!(pi))
    );
    // Stripe.js confirms it on-session; the page posts the purchase again: paid and granted.
    setup.stripe.authenticate_payment_intent(&pi).unwrap();
    let (status, paid) = setup.buy(&mut alice, "large", "order-1");
    assert_eq!(status, 200, "{paid}");
    assert_eq!(
        (&paid["purchase"]["status"], &paid["balance"]),
        (&json!("succeeded"), &json!(3000))
    );
    setup.wait_delivered("payment_intent.succeeded", &pi);
    assert_eq!(setup.balance(&mut alice), 3000);
    assert_eq!(setup.ledger(&alice_id).len(), 2);
    // No card: 409.
    let (mut bob, _) = setup.user("bob");
    let (status, none) = setup.buy(&mut bob, "small", "order-1");
    assert_eq!(
        (status, none["error"]["code"].as_str()),
        (409, Some("no_payment_method"))
    );
    let (status, unknown) = setup.buy(&mut bob, "huge", "order-2");
    assert_eq!(status, 422, "{unknown}");
}

#[test]
fn payment_methods_are_listed_made_default_and_detached_only_by_their_owner() {
    let setup = Setup::new(Options::default());
    let (mut alice, alice_id) = setup.user("alice");
    let (status, config) = alice.send("GET", "/api/stripe/config", None);
    assert_eq!(
        (status, config),
        (200, json!({"publishable_key": PUBLISHABLE}))
    );
    let (status, none) = alice.send("GET", "/api/stripe/payment-methods", None);
    assert_eq!((status, none), (200, json!({"payment_methods": []})));

    let first = setup.add_card(&mut alice, TestCard::Visa);
    let second = setup.add_card(&mut alice, TestCard::InsufficientFunds);
    let list = |browser: &mut Browser<'_>| -> Vec<(String, bool)> {
        let (status, body) = browser.send("GET", "/api/stripe/payment-methods", None);
        assert_eq!(status, 200, "{body}");
        body["payment_methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["id"].as_str().unwrap().to_owned(),
                    m["is_default"] == true,
                )
            })
            .collect()
    };
    // Newest first; the first card became the default.
    assert_eq!(
        list(&mut alice),
        [(second.clone(), false), (first.clone(), true)]
    );

    // Every create carried an Idempotency-Key and the pinned version, form-encoded with
    // brackets; one customer for the user.
    let traffic = setup.stripe.traffic();
    assert_eq!(traffic.calls(StripeEndpoint::CreateCustomer), 1);
    let customer = &traffic.requests_to(StripeEndpoint::CreateCustomer)[0];
    assert_eq!(
        customer.header("idempotency-key"),
        Some(format!("customer-{alice_id}").as_str())
    );
    for request in traffic.requests_to(StripeEndpoint::CreateSetupIntent) {
        assert!(request.header("idempotency-key").is_some());
        assert_eq!(request.header("stripe-version"), Some("2025-06-30.basil"));
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert!(
            request.body.contains("payment_method_types[]=card"),
            "{}",
            request.body
        );
        assert!(request.body.contains("usage=off_session"));
    }

    // The default moves at Stripe.
    let (status, _) = alice.send(
        "POST",
        &format!("/api/stripe/payment-methods/{second}/default"),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(
        list(&mut alice),
        [(second.clone(), true), (first.clone(), false)]
    );
    let customer_id = setup.stripe.object(&second).unwrap()["customer"].clone();
    let at_stripe = setup.stripe.object(customer_id.as_str().unwrap()).unwrap();
    assert_eq!(
        at_stripe["invoice_settings"]["default_payment_method"],
        json!(second)
    );

    // Another user's card, or none, is 404 for them.
    let (mut bob, _) = setup.user("bob");
    setup.add_card(&mut bob, TestCard::Visa);
    for (method, path) in [
        ("DELETE", format!("/api/stripe/payment-methods/{first}")),
        (
            "POST",
            format!("/api/stripe/payment-methods/{first}/default"),
        ),
        (
            "DELETE",
            "/api/stripe/payment-methods/pm_nosuchmethod".to_owned(),
        ),
    ] {
        assert_eq!(bob.send(method, &path, None).0, 404, "{method} {path}");
    }
    assert_eq!(
        alice
            .send(
                "DELETE",
                "/api/stripe/payment-methods/pm_nosuchmethod",
                None
            )
            .0,
        404
    );

    // Detaching the default leaves the other card as the default.
    let (status, _) = alice.send(
        "DELETE",
        &format!("/api/stripe/payment-methods/{second}"),
        None,
    );
    assert_eq!(status, 204);
    assert_eq!(list(&mut alice), [(first.clone(), true)]);
    setup.wait_delivered("payment_method.detached", &second);
    let last4: String = setup
        .db()
        .query_row(
            "SELECT payment_method_last4 FROM users WHERE id = ?",
            [&alice_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(last4, "4242");
    assert_eq!(
        setup.number(
            "SELECT count(*) FROM stripe_payment_methods WHERE user_id = ?",
            &alice_id
        ),
        1
    );

    // Stripe failing: 502.
    traffic.fail_next(StripeEndpoint::ListPaymentMethods, 1, Fault::Status(500));
    let (status, failed) = alice.send("GET", "/api/stripe/payment-methods", None);
    assert_eq!(
        (status, failed["error"]["code"].as_str()),
        (502, Some("bad_gateway"))
    );
}
