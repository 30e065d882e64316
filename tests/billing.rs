//! The credits ledger through `chatcode up`: the signup grant, usage priced from configuration
//! and charged once per key, 100 concurrent events against a small balance, the low-balance
//! warning once per crossing, another user's usage, the budget guard (402 for new sessions,
//! VPSes powered off after the grace), and configuration that is missing or wrong.
//! Stripe (cards, purchases, webhooks) is in `billing_stripe.rs`.
//!
//! Each test starts the app with `chatcode_testkit::chatcode_up(…)` and the fakes it needs
//! (`billing_support`).

mod billing_support;

use std::{collections::BTreeMap, thread};

use billing_support::{Options, Setup, usage};
use chatcode_fakes::digitalocean::{DoConfig, DropletStatus};
use chatcode_testkit::{Browser, client};
use serde_json::{Value, json};

#[test]
fn usage_is_priced_charged_once_per_key_and_listed_per_user() {
    let setup = Setup::new(Options::default());
    let (mut alice, alice_id) = setup.user("alice");

    // The ledger opens with the signup grant.
    let (status, balance) = alice.send("GET", "/api/billing/balance", None);
    assert_eq!(status, 200, "{balance}");
    assert_eq!(
        (
            &balance["signup_credits"],
            &balance["purchased_credits"],
            &balance["total_credits"]
        ),
        (&json!(1000), &json!(0), &json!(1000))
    );
    assert_eq!(setup.ledger(&alice_id), [("signup_grant".to_owned(), 1000)]);

    // Plans and packages come from configuration.
    let (status, plans) = alice.send("GET", "/api/billing/plans", None);
    assert_eq!(status, 200);
    assert_eq!(plans["plans"][0]["id"], "pay-as-you-go");
    let (_, credits) = alice.send("GET", "/api/billing/credits", None);
    assert_eq!(credits["packages"][0]["id"], "small");
    assert_eq!(credits["packages"][1]["price_cents"], 1500);

    // Priced by the model's row, or the default row; 201 with what it cost and what is left.
    let (status, first) = alice.send("POST", "/api/billing/usage", Some(usage("step-1", 100)));
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        (&first["credits_used"], &first["balance"]),
        (&json!(100), &json!(900))
    );
    let big = json!({"idempotency_key": "step-2", "model": "BIG", "input_tokens": 10,
                     "output_tokens": 10, "session_id": "agent-run-7"});
    let (status, second) = alice.send("POST", "/api/billing/usage", Some(big.clone()));
    assert_eq!(status, 201, "{second}");
    assert_eq!(
        (&second["credits_used"], &second["balance"]),
        (&json!(60), &json!(840))
    );

    // The same key again answers the first result and charges nothing.
    let (status, again) = alice.send("POST", "/api/billing/usage", Some(usage("step-1", 100)));
    assert_eq!((status, &again), (201, &first));
    // The same key for another event is a conflict.
    let (status, clash) = alice.send("POST", "/api/billing/usage", Some(usage("step-1", 5)));
    assert_eq!(
        (status, clash["error"]["code"].as_str()),
        (409, Some("idempotency_conflict"))
    );
    assert_eq!(setup.balance(&mut alice), 840);

    // More than is left: 402, and nothing recorded.
    let (status, short) = alice.send("POST", "/api/billing/usage", Some(usage("step-3", 841)));
    assert_eq!(status, 402, "{short}");
    assert_eq!(short["error"]["code"], "insufficient_credits");
    assert_eq!(
        setup.number(
            "SELECT count(*) FROM usage_events WHERE user_id = ?",
            &alice_id
        ),
        2
    );
    assert_eq!(setup.balance(&mut alice), 840);

    // Bad bodies name their fields; an API key works like the cookie.
    let (status, bad) = alice.send(
        "POST",
        "/api/billing/usage",
        Some(json!({"idempotency_key": "", "model": "m", "input_tokens": -1, "output_tokens": 0})),
    );
    assert_eq!(status, 422);
    assert!(bad["error"]["fields"]["idempotency_key"].is_string());
    assert!(bad["error"]["fields"]["input_tokens"].is_string());
    let (_, key) = alice.send(
        "POST",
        "/api/account/api-key",
        Some(json!({"name": "agent"})),
    );
    let with_key = client()
        .post(setup.app.url("/api/billing/usage"))
        .bearer_auth(key["key"].as_str().unwrap())
        .json(&usage("step-4", 40))
        .send()
        .unwrap();
    assert_eq!(with_key.status(), 201);
    assert_eq!(with_key.json::<Value>().unwrap()["balance"], 800);

    // Listed newest first, in pages.
    let (status, page) = alice.send("GET", "/api/billing/usage?limit=2", None);
    assert_eq!(status, 200);
    let listed: Vec<&str> = page["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["idempotency_key"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["step-4", "step-2"]);
    let next = page["next_before"].as_str().unwrap();
    let (_, rest) = alice.send(
        "GET",
        &format!("/api/billing/usage?limit=2&before={next}"),
        None,
    );
    assert_eq!(rest["usage"][0]["idempotency_key"], "step-1");
    assert_eq!(rest["next_before"], Value::Null);
    let (_, ledger) = alice.send("GET", "/api/billing/ledger", None);
    let kinds: Vec<&str> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["usage", "usage", "usage", "signup_grant"]);

    // Another user sees none of it: a foreign event, session or cursor is not theirs.
    let (mut bob, bob_id) = setup.user("bob");
    let id = first["id"].as_str().unwrap();
    assert_eq!(
        alice
            .send("GET", &format!("/api/billing/usage/{id}"), None)
            .0,
        200
    );
    assert_eq!(
        bob.send("GET", &format!("/api/billing/usage/{id}"), None).0,
        404
    );
    let (_, theirs) = bob.send("GET", &format!("/api/billing/usage?before={id}"), None);
    assert_eq!(theirs["usage"], json!([]));
    setup
        .db()
        .execute(
            "INSERT INTO vps (id, user_id, name, droplet_id, region, size, image, created_at, \
             updated_at) VALUES ('vps-a', ?1, 'a', 1, 'ams3', 's', 'i', 0, 0)",
            [&alice_id],
        )
        .unwrap();
    setup
        .db()
        .execute(
            "INSERT INTO sessions (id, user_id, vps_id, title, workdir, created_at, updated_at) \
             VALUES ('ses-alices', ?1, 'vps-a', 't', '/', 0, 0)",
            [&alice_id],
        )
        .unwrap();
    let foreign = json!({"idempotency_key": "x", "model": "m", "input_tokens": 1,
                         "output_tokens": 0, "session_id": "ses-alices"});
    assert_eq!(
        bob.send("POST", "/api/billing/usage", Some(foreign.clone()))
            .0,
        404
    );
    assert_eq!(
        alice.send("POST", "/api/billing/usage", Some(foreign)).0,
        201
    );
    // Keys are per user: bob's "step-1" is his own event.
    let (status, bobs) = bob.send("POST", "/api/billing/usage", Some(usage("step-1", 1)));
    assert_eq!((status, &bobs["balance"]), (201, &json!(999)));
    assert_eq!(setup.ledger(&bob_id).len(), 2);
    assert_eq!(
        Browser::new(&setup.app)
            .send("GET", "/api/billing/balance", None)
            .0,
        401
    );
}

#[test]
fn a_hundred_concurrent_usage_events_never_overdraw_and_the_sum_matches() {
    let setup = Setup::new(Options::default());
    let (mut alice, alice_id) = setup.user("alice");
    assert_eq!(setup.balance(&mut alice), 1000);
    let cookie = alice.cookie.clone().unwrap();
    let url = setup.app.url("/api/billing/usage");
    let answers: Vec<(u16, Value)> = thread::scope(|scope| {
        let workers: Vec<_> = (0..100)
            .map(|i| {
                let (url, cookie) = (url.clone(), cookie.clone());
                scope.spawn(move || {
                    let response = client()
                        .post(url)
                        .header("cookie", cookie)
                        .json(&usage(&format!("event-{i}"), 30))
                        .send()
                        .unwrap();
                    (response.status().as_u16(), response.json().unwrap())
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for (status, body) in &answers {
        *by_status.entry(*status).or_default() += 1;
        match status {
            201 => assert!(body["balance"].as_i64().unwrap() >= 0),
            402 => assert_eq!(body["error"]["code"], "insufficient_credits"),
            _ => panic!("unexpected answer {status}: {body}\n{}", setup.logs()),
        }
    }
    // 1,000 credits pay for 33 events of 30: the rest are refused, and 10 credits are left.
    assert_eq!(by_status, BTreeMap::from([(201, 33), (402, 67)]));
    assert_eq!(setup.balance(&mut alice), 10);
    let spent = setup.number(
        "SELECT sum(credits_used) FROM usage_events WHERE user_id = ?",
        &alice_id,
    );
    assert_eq!(spent, 990);
    let ledger = setup.ledger(&alice_id);
    assert_eq!(ledger.iter().map(|(_, amount)| amount).sum::<i64>(), 10);
    assert_eq!(ledger.len(), 34);
    assert_eq!(
        setup.number(
            "SELECT count(*) FROM credit_ledger WHERE user_id = ? AND balance_after < 0",
            &alice_id
        ),
        0
    );
    // Each answer's balance is one entry's: all different, as the events were serialised.
    let mut balances: Vec<i64> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b["balance"].as_i64().unwrap())
        .collect();
    balances.sort_unstable();
    balances.dedup();
    assert_eq!(balances.len(), 33);
}

#[test]
fn the_low_balance_warning_is_set_once_per_crossing() {
    let setup = Setup::new(Options::default());
    let (mut alice, alice_id) = setup.user("alice");
    let (status, _) = alice.send(
        "PATCH",
        "/api/account",
        Some(json!({"low_balance_threshold": 500})),
    );
    assert_eq!(status, 200);
    let spend = |browser: &mut Browser<'_>, key: &str, credits: i64| {
        let (status, body) = browser.send("POST", "/api/billing/usage", Some(usage(key, credits)));
        assert_eq!(status, 201, "{body}");
        body["low_balance_warning"].as_bool().unwrap()
    };
    assert!(!spend(&mut alice, "a", 400), "600 left: above");
    assert!(spend(&mut alice, "b", 200), "400 left: crossed");
    assert!(!spend(&mut alice, "c", 100), "300 left: warned already");
    let (_, balance) = alice.send("GET", "/api/billing/balance", None);
    assert_eq!(balance["low_balance_warned"], true);
    // Back above the threshold (a new threshold re-arms it), then below again: once more.
    alice.send(
        "PATCH",
        "/api/account",
        Some(json!({"low_balance_threshold": 100})),
    );
    assert!(!spend(&mut alice, "d", 100), "200 left: above 100");
    assert!(spend(&mut alice, "e", 150), "50 left: crossed again");
    assert!(!spend(&mut alice, "f", 10), "40 left");
    assert_eq!(
        setup.number(
            "SELECT count(*) FROM credit_ledger WHERE user_id = ? AND low_balance_crossed = 1",
            &alice_id
        ),
        2
    );
}

#[test]
fn the_budget_guard_refuses_new_sessions_at_zero_and_powers_off_after_its_grace() {
    let setup = Setup::new(Options {
        digitalocean: true,
        ..Options::default()
    });
    let fake = setup.digitalocean.as_ref().unwrap();
    let (mut alice, alice_id) = setup.user("alice");
    let account = DoConfig::default().accounts[0].uuid.clone();
    let tokens = fake.issue_token(&account, "read write").unwrap();
    chatcode_testkit::connect_digitalocean(
        &setup.data,
        &alice_id,
        &account,
        &tokens.access_token,
        &tokens.refresh_token,
    );
    let (status, vps) = alice.send(
        "POST",
        "/vps",
        Some(json!({"region": "ams3", "size": "s-1vcpu-1gb"})),
    );
    assert_eq!(status, 201, "{vps}");
    let vps_id = vps["vps_id"].as_str().unwrap().to_owned();
    let droplet: i64 = setup.number("SELECT droplet_id FROM vps WHERE id = ?", &vps_id);
    let droplet = u64::try_from(droplet).unwrap();
    fake.set_status(droplet, DropletStatus::Active);
    setup
        .db()
        .execute("UPDATE vps SET status = 'active' WHERE id = ?", [&vps_id])
        .unwrap();
    let sessions = format!("/vps/{vps_id}/sessions");
    let new_session = |browser: &mut Browser<'_>| {
        let (status, body) = browser.send("POST", &sessions, Some(json!({"title": "work"})));
        (
            status,
            body["error"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };

    // Off by default: zero credits do not stop a session (its gateway is offline here).
    let (status, settings) = alice.send("GET", "/api/billing/settings", None);
    assert_eq!(status, 200);
    assert_eq!(
        settings,
        json!({"budget_guard": false, "power_off_grace_minutes": null})
    );
    assert_eq!(
        alice
            .send("POST", "/api/billing/usage", Some(usage("all", 1000)))
            .0,
        201
    );
    assert_eq!(new_session(&mut alice), (409, "gateway_offline".into()));

    // On: 402 at zero credits.
    let (status, settings) = alice.send(
        "PATCH",
        "/api/billing/settings",
        Some(json!({"budget_guard": true, "power_off_grace_minutes": 5})),
    );
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["power_off_grace_minutes"], 5);
    assert_eq!(
        new_session(&mut alice),
        (402, "insufficient_credits".into())
    );
    let (status, bad) = alice.send(
        "PATCH",
        "/api/billing/settings",
        Some(json!({"power_off_grace_minutes": -1})),
    );
    assert_eq!(status, 422, "{bad}");

    // The sweep powers the VPSes off once the grace has passed, once per stretch at zero.
    let zero_since = setup.number(
        "SELECT zero_balance_since FROM billing_accounts WHERE user_id = ?",
        &alice_id,
    );
    let unauthorised = client()
        .post(setup.app.url("/internal/billing/sweep"))
        .send()
        .unwrap();
    assert_eq!(unauthorised.status(), 401);
    let (status, early) = setup.sweep(zero_since + 4 * 60_000);
    assert_eq!(status, 200, "{early}");
    assert_eq!(early["users"], 0);
    let (_, due) = setup.sweep(zero_since + 5 * 60_000);
    assert_eq!(
        due,
        json!({"users": 1, "powered_off": 1, "failed": 0}),
        "{}",
        setup.logs()
    );
    let actions: Vec<String> = fake
        .actions()
        .into_iter()
        .filter(|a| a.resource_id == droplet)
        .map(|a| a.kind)
        .collect();
    assert!(actions.contains(&"power_off".to_owned()), "{actions:?}");
    let status: String = setup
        .db()
        .query_row("SELECT status FROM vps WHERE id = ?", [&vps_id], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        ["off", "powering_off"].contains(&status.as_str()),
        "{status}"
    );
    let (_, again) = setup.sweep(zero_since + 60 * 60_000);
    assert_eq!(again["users"], 0, "handled already");
}

#[test]
fn without_configuration_stripe_answers_503_and_a_bad_catalog_500_naming_the_variable() {
    let setup = Setup::new(Options {
        stripe_keys: false,
        variables: vec![("billing_plans", "[{\"id\": \"no name\"}]".to_owned())],
        ..Options::default()
    });
    let (mut alice, _) = setup.user("alice");
    for (method, path, variable) in [
        ("GET", "/api/stripe/config", "stripe_publishable_key"),
        ("POST", "/api/stripe/setup-intent", "stripe_secret_key"),
        ("GET", "/api/stripe/payment-methods", "stripe_secret_key"),
        (
            "DELETE",
            "/api/stripe/payment-methods/pm_x",
            "stripe_secret_key",
        ),
        (
            "POST",
            "/api/stripe/payment-methods/pm_x/default",
            "stripe_secret_key",
        ),
        ("POST", "/webhooks/stripe", "stripe_webhook_secret"),
    ] {
        let (status, body) = alice.send(method, path, None);
        assert_eq!(status, 503, "{method} {path}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(variable), "{method} {path}: {message}");
    }
    let (status, body) = alice.send(
        "POST",
        "/api/billing/credits/purchase",
        Some(json!({"package_id": "small", "idempotency_key": "k"})),
    );
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stripe_secret_key")
    );
    let (status, body) = alice.send("GET", "/api/billing/plans", None);
    assert_eq!(status, 500);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("billing_plans"),
        "{body}"
    );
    assert!(setup.logs().contains("variable billing_plans is invalid"));
    // Everything else still works.
    assert_eq!(alice.send("GET", "/api/billing/balance", None).0, 200);
}
