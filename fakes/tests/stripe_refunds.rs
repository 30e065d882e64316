//! What the dashboard and the bank do to a charge later, through the Stripe fake's hooks:
//! refunds and disputes, and the events they send.

pub mod common;

use chatcode_fakes::stripe::{self, HookError, StripeHandle, TestCard};
use common::stripe::{config, customer_with_card, get, ok, post};
use serde_json::{Value, json};

fn charge(url: &str, cus: &str, pm: &str, amount: &str) -> Value {
    ok(post(
        url,
        "/v1/payment_intents",
        &[
            ("amount", amount),
            ("currency", "usd"),
            ("customer", cus),
            ("payment_method", pm),
            ("off_session", "true"),
            ("confirm", "true"),
        ],
    ))
}

fn last_type(handle: &StripeHandle) -> Option<String> {
    handle
        .events()
        .pop()
        .and_then(|e| e["type"].as_str().map(str::to_owned))
}

#[test]
fn refunds_and_disputes_come_from_the_hooks() {
    let (server, handle) = stripe::spawn(config());
    let url = server.url();
    let (cus, pm) = customer_with_card(&url, &handle, TestCard::Visa);
    let pi = charge(&url, &cus, &pm, "5000");
    let ch = pi["latest_charge"].as_str().expect("charge");
    let re = handle.refund(ch, Some(2000)).expect("a partial refund");
    assert!(re.starts_with("re_"));
    let event = handle
        .events()
        .into_iter()
        .rev()
        .find(|e| e["type"] == "charge.refunded")
        .expect("charge.refunded");
    let c = &event["data"]["object"];
    assert_eq!(
        (&c["amount_refunded"], &c["refunded"]),
        (&json!(2000), &json!(false))
    );
    assert_eq!(event["data"]["previous_attributes"]["amount_refunded"], 0);
    assert_eq!(last_type(&handle).as_deref(), Some("refund.created"));
    let refund = handle.object(&re).expect("the refund");
    assert_eq!(
        (&refund["amount"], &refund["charge"], &refund["status"]),
        (&json!(2000), &json!(ch), &json!("succeeded"))
    );
    assert!(matches!(
        handle.refund(ch, Some(3001)),
        Err(HookError::WrongState(_))
    ));
    handle.refund(ch, None).expect("the rest");
    let c = ok(get(&url, &format!("/v1/charges/{ch}")));
    assert_eq!(
        (&c["amount_refunded"], &c["refunded"]),
        (&json!(5000), &json!(true))
    );
    let pi = charge(&url, &cus, &pm, "3000");
    let ch = pi["latest_charge"].as_str().expect("charge");
    let dp = handle.dispute(ch, "fraudulent").expect("a dispute");
    let event = handle.events().pop().expect("an event");
    assert_eq!(event["type"], "charge.dispute.created");
    assert_eq!(
        event["request"]["id"],
        json!(null),
        "the bank did it, not an API call"
    );
    let d = &event["data"]["object"];
    assert_eq!(d["id"], dp.as_str());
    assert_eq!(d["object"], "dispute");
    assert_eq!(
        (&d["charge"], &d["payment_intent"]),
        (&json!(ch), &pi["id"])
    );
    assert_eq!(
        (&d["amount"], &d["status"], &d["reason"]),
        (&json!(3000), &json!("needs_response"), &json!("fraudulent"))
    );
    assert_eq!(handle.object(ch).expect("charge")["disputed"], true);
    assert!(matches!(
        handle.dispute(ch, "general"),
        Err(HookError::WrongState(_))
    ));
    assert!(matches!(
        handle.refund("ch_nothing", None),
        Err(HookError::NotFound(_))
    ));
}
