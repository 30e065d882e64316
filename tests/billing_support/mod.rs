//! Shared by the billing tests: `chatcode up` with the Stripe fake (and, when a test needs
//! VPSes, the DigitalOcean fake), users, cards, purchases, and webhooks signed by the test.

#![allow(dead_code)]

use std::{
    path::PathBuf,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use chatcode_fakes::{
    FakeServer,
    digitalocean::{self, DoConfig, DoHandle},
    stripe::{self, DEFAULT_SECRET_KEY, StripeConfig, StripeHandle, TestCard},
};
use chatcode_testkit::{Browser, Process, client, ensure_components_built};
use serde_json::{Value, json};

/// The webhook signing secret the app is given.
pub const WHSEC: &str = "whsec_chatcodebillingtestsecret0000000000";
/// The publishable key the app is given.
pub const PUBLISHABLE: &str = "pk_test_chatcodebillingtests";
/// The hub's bearer for internal routes (see `chatcode_testkit::chatcode_up`).
pub const HUB_SECRET: &str = "test-hub-secret";
/// Prices the tests use: one credit per input token by default; `big` costs twice that for
/// input and four credits per output token.
pub const PRICES: &str = r#"{"default":{"input_per_1k":1000,"output_per_1k":0},"big":{"input_per_1k":2000,"output_per_1k":4000}}"#;
/// Packages the tests buy: 500 credits for $5, 2,000 for $15.
pub const PACKAGES: &str = r#"[{"id":"small","credits":500,"price_cents":500,"currency":"usd"},{"id":"large","name":"Large","credits":2000,"price_cents":1500,"currency":"usd"}]"#;
/// How long a test waits for webhooks to arrive.
pub const WAIT: Duration = Duration::from_secs(30);

/// How the app is started.
pub struct Options {
    /// `signup_credits`.
    pub signup_credits: i64,
    /// Give the app Stripe's keys (else the Stripe routes answer 503).
    pub stripe_keys: bool,
    /// Let the fake deliver webhooks to the app (else the test delivers them).
    pub deliver_webhooks: bool,
    /// Start the DigitalOcean fake too.
    pub digitalocean: bool,
    /// More `SPIN_VARIABLE_*` settings.
    pub variables: Vec<(&'static str, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            signup_credits: 1000,
            stripe_keys: true,
            deliver_webhooks: true,
            digitalocean: false,
            variables: Vec::new(),
        }
    }
}

/// The app with its fakes.
pub struct Setup {
    _dir: tempfile::TempDir,
    pub data: PathBuf,
    pub app: Process,
    _stripe: FakeServer,
    pub stripe: StripeHandle,
    _do: Option<FakeServer>,
    pub digitalocean: Option<DoHandle>,
}

impl Setup {
    pub fn new(options: Options) -> Self {
        ensure_components_built();
        let (stripe_server, stripe) = stripe::spawn(StripeConfig {
            webhook_backoff: Duration::from_millis(200),
            ..StripeConfig::default()
        });
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut command =
            chatcode_testkit::chatcode_up(env!("CARGO_BIN_EXE_chatcode"), &data, "development");
        command
            .env("SPIN_VARIABLE_STRIPE_API_BASE", stripe_server.url())
            .env(
                "SPIN_VARIABLE_SIGNUP_CREDITS",
                options.signup_credits.to_string(),
            )
            .env("SPIN_VARIABLE_USAGE_PRICES", PRICES)
            .env("SPIN_VARIABLE_CREDIT_PACKAGES", PACKAGES);
        if options.stripe_keys {
            command
                .env("SPIN_VARIABLE_STRIPE_SECRET_KEY", DEFAULT_SECRET_KEY)
                .env("SPIN_VARIABLE_STRIPE_WEBHOOK_SECRET", WHSEC)
                .env("SPIN_VARIABLE_STRIPE_PUBLISHABLE_KEY", PUBLISHABLE);
        }
        let (do_server, digitalocean) = if options.digitalocean {
            let (server, handle) = digitalocean::spawn(DoConfig::default());
            chatcode_testkit::use_digitalocean_fake(&mut command, &server.url());
            (Some(server), Some(handle))
        } else {
            (None, None)
        };
        for (name, value) in &options.variables {
            command.env(format!("SPIN_VARIABLE_{}", name.to_uppercase()), value);
        }
        let app = Process::start(command).unwrap();
        if options.deliver_webhooks {
            stripe.set_webhook_endpoint(&app.url("/webhooks/stripe"), WHSEC);
        }
        Self {
            _dir: dir,
            data,
            app,
            _stripe: stripe_server,
            stripe,
            _do: do_server,
            digitalocean,
        }
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.data.join("sqlite_db.db")).unwrap()
    }

    /// One number from the database.
    pub fn number(&self, sql: &str, param: &str) -> i64 {
        self.db().query_row(sql, [param], |r| r.get(0)).unwrap()
    }

    /// A signed-in user and their id.
    pub fn user(&self, name: &str) -> (Browser<'_>, String) {
        let mut browser = Browser::new(&self.app);
        let id = browser.login(name)["id"].as_str().unwrap().to_owned();
        (browser, id)
    }

    /// What the component logged.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.data.join("logs/billing_stderr.txt")).unwrap_or_default()
    }

    /// Saves `card` as Stripe.js would after `POST /api/stripe/setup-intent`, then lists the
    /// payment methods (which makes the first card the default). Returns the card's id.
    pub fn add_card(&self, browser: &mut Browser<'_>, card: TestCard) -> String {
        let (status, intent) = browser.send("POST", "/api/stripe/setup-intent", None);
        assert_eq!(status, 200, "{intent}");
        let seti = intent["setup_intent_id"].as_str().unwrap();
        assert!(intent["client_secret"].as_str().unwrap().starts_with(seti));
        let pm = self.stripe.complete_setup_intent(seti, card).unwrap();
        let (status, list) = browser.send("GET", "/api/stripe/payment-methods", None);
        assert_eq!(status, 200, "{list}");
        pm
    }

    /// `POST /api/billing/credits/purchase`.
    pub fn buy(&self, browser: &mut Browser<'_>, package: &str, key: &str) -> (u16, Value) {
        browser.send(
            "POST",
            "/api/billing/credits/purchase",
            Some(json!({ "package_id": package, "idempotency_key": key })),
        )
    }

    /// The total balance.
    pub fn balance(&self, browser: &mut Browser<'_>) -> i64 {
        let (status, body) = browser.send("GET", "/api/billing/balance", None);
        assert_eq!(status, 200, "{body}");
        body["total_credits"].as_i64().unwrap()
    }

    /// The user's ledger as (kind, amount), oldest first.
    pub fn ledger(&self, user_id: &str) -> Vec<(String, i64)> {
        let db = self.db();
        let mut stmt = db
            .prepare(
                "SELECT kind, amount FROM credit_ledger WHERE user_id = ? ORDER BY created_at, rowid",
            )
            .unwrap();
        stmt.query_map([user_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Posts `body` to the webhook with `signature` (none: no header).
    pub fn deliver(&self, body: &str, signature: Option<&str>) -> (u16, Value) {
        let mut request = client()
            .post(self.app.url("/webhooks/stripe"))
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// The fake's events of `kind` about `object_id` (`data.object.id` or, for a charge's
    /// events, its PaymentIntent), oldest first.
    pub fn events(&self, kind: &str, about: &str) -> Vec<Value> {
        self.stripe
            .events()
            .into_iter()
            .filter(|e| e["type"] == kind)
            .filter(|e| {
                let object = &e["data"]["object"];
                object["id"] == about || object["payment_intent"] == about
            })
            .collect()
    }

    /// Waits until the app acknowledged a delivery of every event of `kind` about `about`.
    pub fn wait_delivered(&self, kind: &str, about: &str) {
        let ids: Vec<String> = self
            .events(kind, about)
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        assert!(!ids.is_empty(), "no {kind} event about {about}");
        let deadline = Instant::now() + WAIT;
        loop {
            let attempts = self.stripe.webhook_attempts();
            let done = ids
                .iter()
                .all(|id| attempts.iter().any(|a| &a.event_id == id && a.succeeded()));
            if done {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{kind} about {about} not acknowledged: {:?}\n{}",
                attempts
                    .iter()
                    .filter(|a| ids.contains(&a.event_id))
                    .map(|a| (a.status, a.response.clone()))
                    .collect::<Vec<_>>(),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Delivers event `id` once more, now; returns the app's answer to it.
    pub fn redeliver(&self, id: &str) -> chatcode_fakes::stripe::WebhookAttempt {
        let count = |attempts: &[chatcode_fakes::stripe::WebhookAttempt]| {
            attempts.iter().filter(|a| a.event_id == id).count()
        };
        let before = count(&self.stripe.webhook_attempts());
        assert!(
            self.stripe
                .release_event(id, chatcode_fakes::stripe::Signing::Normal)
        );
        let deadline = Instant::now() + WAIT;
        loop {
            let attempts = self.stripe.webhook_attempts();
            if count(&attempts) > before {
                return attempts
                    .into_iter()
                    .rev()
                    .find(|a| a.event_id == id)
                    .unwrap();
            }
            assert!(Instant::now() < deadline, "{id} was not delivered again");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `POST /internal/billing/sweep` as the hub, as of `now`.
    pub fn sweep(&self, now: i64) -> (u16, Value) {
        let response = client()
            .post(self.app.url("/internal/billing/sweep"))
            .bearer_auth(HUB_SECRET)
            .json(&json!({ "now": now }))
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }
}

/// Unix seconds now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A `Stripe-Signature` with one `v1` per secret, in order, at `timestamp`.
pub fn signature(secrets: &[&str], timestamp: u64, body: &str) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        let signed = stripe::sign(secret, timestamp, body);
        let (_, v1) = signed.split_once(',').unwrap();
        header.push(',');
        header.push_str(v1);
    }
    header
}

/// A usage event body costing `tokens` credits at the default price.
pub fn usage(key: &str, tokens: i64) -> Value {
    json!({"idempotency_key": key, "model": "some-model", "input_tokens": tokens, "output_tokens": 0})
}
