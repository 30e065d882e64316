//! schemathesis against the running system (`chatcode up` with the DigitalOcean and GitHub
//! fakes, and a simulated gateway on each VPS), driven by `openapi/openapi.json` as served at
//! `/api/openapi.json`: signed out, signed in by cookie (on the user's own VPS and session),
//! signed in by API key, and as the hub on its internal routes. Every run checks that no answer
//! is a 5xx and that every answer's status, content type, body and headers are the
//! document's.
//!
//! Billing talks to the Stripe fake (`chatcode_fakes::stripe`), so its success answers are
//! checked too: each user has a card saved as Stripe.js would, credits bought with it, usage
//! and a budget guard. The fake delivers no webhooks (tests/billing_stripe.rs covers them),
//! so nothing changes a user's rows behind the runs; the webhook is fuzzed like any route and
//! answers its documented 400 to every delivery, none of which can carry a valid signature.
//!
//! "No request reaches another user's data": a second user, bob, has a VPS with a connected
//! gateway, a session, an API key, settings, a card, a purchase and usage. A run as alice
//! with bob's ids as every path parameter must answer 404 to each request (read back from its
//! HAR report), and after the users' runs bob's rows, his droplet, his card and customer at Stripe
//! and the commands his gateway received are as before.

mod schemathesis_support;

use std::time::Duration;

use chatcode_fakes::{
    FakeServer,
    digitalocean::{self, DoAccount, DoConfig, DoHandle},
    github::{self, GithubConfig},
    stripe::{self, DEFAULT_SECRET_KEY, StripeConfig, StripeHandle, TestCard},
};
use chatcode_gateway_sim::{GatewaySim, SimConfig, SimHandle};
use chatcode_testkit::{Browser, Process, client, ensure_components_built, gateway_env};
use rusqlite::types::ValueRef;
use schemathesis_support::{Run, Schemathesis, exchanges};
use serde_json::{Value, json};

/// Test cases per operation and phase: enough to cross every branch the bodies allow, few
/// enough that the five runs take a few minutes on two cores.
const MAX_EXAMPLES: u32 = 25;

/// Left out of every run: `doStart` and `githubStart` send the browser to the providers
/// (tests/oauth.rs walks that journey); `migrate` is the hub's once-per-start job (tests/up.rs);
/// `gatewayConnect` and `terminalConnect` are WebSocket upgrades (tests/hub.rs).
const NEVER: [&str; 5] = [
    "doStart",
    "githubStart",
    "migrate",
    "gatewayConnect",
    "terminalConnect",
];

/// Left out of signed-in runs, where they would end the run's own login, disconnect the
/// DigitalOcean account every VPS route needs, or delete the account (tests/auth.rs,
/// tests/oauth.rs and tests/account.rs cover them); signed out they are fuzzed like the rest.
const SIGNED_IN_NEVER: [&str; 4] = ["logout", "logoutAll", "doDisconnect", "deleteAccount"];

/// One user with data: a VPS whose gateway is connected, a session on it, an API key, and
/// billing's: two cards at Stripe (the first the default), a purchase, a usage event.
struct User {
    id: String,
    cookie: String,
    key: String,
    key_id: String,
    vps_id: String,
    gateway_id: String,
    droplet_id: u64,
    session_id: String,
    gateway: SimHandle,
    customer: String,
    card: String,
    spare_card: String,
    usage_id: String,
}

/// Sends a request that must succeed; its JSON answer.
fn call(browser: &mut Browser<'_>, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = browser.send(method, path, body);
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {answer}"
    );
    answer
}

/// The DigitalOcean accounts of the fake: alice's and bob's.
fn accounts() -> Vec<DoAccount> {
    vec![
        DoAccount::new("Alice", "alice@example.com"),
        DoAccount::new("Bob", "bob@example.com"),
    ]
}

struct World {
    dir: tempfile::TempDir,
    app: Process,
    _do: FakeServer,
    fake: DoHandle,
    _github: FakeServer,
    _stripe: FakeServer,
    stripe: StripeHandle,
    runtime: tokio::runtime::Runtime,
}

impl World {
    fn new() -> Self {
        ensure_components_built();
        let (do_server, fake) = digitalocean::spawn(DoConfig {
            accounts: accounts(),
            ..DoConfig::default()
        });
        let (gh_server, _) = github::spawn(GithubConfig::default());
        let (stripe_server, stripe) = stripe::spawn(StripeConfig::default());
        let dir = tempfile::tempdir().unwrap();
        let mut command = chatcode_testkit::chatcode_up(
            env!("CARGO_BIN_EXE_chatcode"),
            &dir.path().join("data"),
            "development",
        );
        chatcode_testkit::use_digitalocean_fake(&mut command, &do_server.url())
            .env(
                "SPIN_VARIABLE_GITHUB_CLIENT_ID",
                GithubConfig::default().client_id,
            )
            .env(
                "SPIN_VARIABLE_GITHUB_CLIENT_SECRET",
                GithubConfig::default().client_secret,
            )
            .env("SPIN_VARIABLE_GITHUB_OAUTH_BASE", gh_server.url())
            .env("SPIN_VARIABLE_GITHUB_API_BASE", gh_server.url())
            .env("SPIN_VARIABLE_STRIPE_API_BASE", stripe_server.url())
            .env("SPIN_VARIABLE_STRIPE_SECRET_KEY", DEFAULT_SECRET_KEY)
            .env(
                "SPIN_VARIABLE_STRIPE_WEBHOOK_SECRET",
                "whsec_chatcodefuzzwebhooksecret00000000000",
            )
            .env(
                "SPIN_VARIABLE_STRIPE_PUBLISHABLE_KEY",
                "pk_test_chatcodefuzz",
            );
        let app = Process::start(command).unwrap();
        Self {
            dir,
            app,
            _do: do_server,
            fake,
            _github: gh_server,
            _stripe: stripe_server,
            stripe,
            runtime: tokio::runtime::Runtime::new().unwrap(),
        }
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join("data/sqlite_db.db")).unwrap()
    }

    /// Signs `name` in, connects DigitalOcean account `account`, and makes a VPS (its gateway
    /// simulated and connected through the app's port), a session, an API key, two cards,
    /// a purchase and a usage event.
    fn user(&self, name: &str, account: usize) -> User {
        let mut browser = Browser::new(&self.app);
        let id = browser.login(name)["id"].as_str().unwrap().to_owned();
        let account = accounts().swap_remove(account);
        let tokens = self.fake.issue_token(&account.uuid, "read write").unwrap();
        chatcode_testkit::connect_digitalocean(
            &self.dir.path().join("data"),
            &id,
            &account.uuid,
            &tokens.access_token,
            &tokens.refresh_token,
        );
        let created = call(
            &mut browser,
            "POST",
            "/vps",
            Some(json!({"region": "ams3", "size": "s-1vcpu-1gb"})),
        );
        let vps_id = created["vps_id"].as_str().unwrap().to_owned();
        let droplet_id = created["droplet_id"].as_u64().unwrap();
        let env = gateway_env(
            self.fake
                .droplet(droplet_id)
                .unwrap()
                .user_data
                .as_deref()
                .unwrap(),
        );
        let mut config = SimConfig::new(
            format!("ws://{}/gw/connect", self.app.addr()),
            env["GATEWAY_ID"].clone(),
            env["GATEWAY_AUTH_TOKEN"].clone(),
        );
        // No health reports during the runs: bob's rows must stay exactly as they are.
        config.health_interval = Duration::from_secs(3600);
        let gateway = {
            let _inside = self.runtime.enter();
            GatewaySim::start(config)
        };
        self.runtime
            .block_on(gateway.wait_connected(Duration::from_secs(60)))
            .unwrap();
        let detail = format!("/vps/{vps_id}");
        for _ in 0..600 {
            if browser.send("GET", &detail, None).1["gateway"]["connected"] == true {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let session = call(
            &mut browser,
            "POST",
            &format!("/vps/{vps_id}/sessions"),
            Some(json!({"title": "work"})),
        );
        // The gateway's `session.started` reaches the app in the hub's next event batch: wait
        // for it, so nothing of this user's changes after this.
        let session_id = session["id"].as_str().unwrap().to_owned();
        for _ in 0..600 {
            let started: Option<i64> = self
                .db()
                .query_row(
                    "SELECT last_activity_at FROM sessions WHERE id = ?",
                    [&session_id],
                    |r| r.get(0),
                )
                .unwrap();
            if started.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        call(
            &mut browser,
            "PATCH",
            "/api/account",
            Some(json!({"email": format!("{name}@example.com")})),
        );
        let key = call(
            &mut browser,
            "POST",
            "/api/account/api-key",
            Some(json!({"name": "fuzz"})),
        );
        // Billing: cards saved as Stripe.js would (listing them makes the first the default),
        // credits bought with it, usage charged to the session.
        let mut add_card = || {
            let intent = call(&mut browser, "POST", "/api/stripe/setup-intent", None);
            let seti = intent["setup_intent_id"].as_str().unwrap();
            let card = self
                .stripe
                .complete_setup_intent(seti, TestCard::Visa)
                .unwrap();
            call(&mut browser, "GET", "/api/stripe/payment-methods", None);
            card
        };
        let card = add_card();
        let spare_card = add_card();
        let customer = self.stripe.object(&card).unwrap()["customer"]
            .as_str()
            .unwrap()
            .to_owned();
        call(
            &mut browser,
            "POST",
            "/api/billing/credits/purchase",
            Some(json!({"package_id": "credits-500k", "idempotency_key": "setup"})),
        );
        let usage = call(
            &mut browser,
            "POST",
            "/api/billing/usage",
            Some(json!({"idempotency_key": "setup", "model": "gpt-5",
                        "input_tokens": 1000, "output_tokens": 100,
                        "session_id": session_id})),
        );
        call(
            &mut browser,
            "PATCH",
            "/api/billing/settings",
            Some(json!({"budget_guard": true, "power_off_grace_minutes": 60})),
        );
        User {
            id,
            cookie: browser.cookie.clone().unwrap(),
            key: key["key"].as_str().unwrap().to_owned(),
            key_id: key["id"].as_str().unwrap().to_owned(),
            vps_id,
            gateway_id: env["GATEWAY_ID"].clone(),
            droplet_id,
            session_id,
            gateway,
            customer,
            card,
            spare_card,
            usage_id: usage["id"].as_str().unwrap().to_owned(),
        }
    }

    /// Every row that is `user`'s, as text, in a fixed order.
    fn rows_of(&self, user: &User) -> Vec<String> {
        let db = self.db();
        let queries = [
            ("users", "SELECT * FROM users WHERE id = ?1"),
            ("vps", "SELECT * FROM vps WHERE user_id = ?1 ORDER BY id"),
            (
                "gateways",
                "SELECT * FROM gateways WHERE vps_id IN (SELECT id FROM vps WHERE user_id = ?1)",
            ),
            (
                "sessions",
                "SELECT * FROM sessions WHERE user_id = ?1 ORDER BY id",
            ),
            (
                "api_keys",
                "SELECT * FROM api_keys WHERE user_id = ?1 ORDER BY id",
            ),
            (
                "do_connections",
                "SELECT * FROM do_connections WHERE user_id = ?1",
            ),
            (
                "authorized_keys",
                "SELECT * FROM authorized_keys WHERE vps_id IN \
                 (SELECT id FROM vps WHERE user_id = ?1) ORDER BY id",
            ),
            (
                "persistent_sessions",
                "SELECT * FROM persistent_sessions WHERE user_id = ?1 ORDER BY id",
            ),
            (
                "billing_accounts",
                "SELECT * FROM billing_accounts WHERE user_id = ?1",
            ),
            (
                "credit_ledger",
                "SELECT * FROM credit_ledger WHERE user_id = ?1 ORDER BY id",
            ),
            (
                "usage_events",
                "SELECT * FROM usage_events WHERE user_id = ?1 ORDER BY id",
            ),
            (
                "purchases",
                "SELECT * FROM purchases WHERE user_id = ?1 ORDER BY id",
            ),
            (
                "stripe_customers",
                "SELECT * FROM stripe_customers WHERE user_id = ?1",
            ),
            (
                "stripe_payment_methods",
                "SELECT * FROM stripe_payment_methods WHERE user_id = ?1 \
                 ORDER BY stripe_payment_method_id",
            ),
        ];
        let mut rows = Vec::new();
        for (table, sql) in queries {
            let mut statement = db.prepare(sql).unwrap();
            let columns = statement.column_count();
            let mut result = statement.query([&user.id]).unwrap();
            while let Some(row) = result.next().unwrap() {
                let values: Vec<String> = (0..columns)
                    .map(|i| match row.get_ref(i).unwrap() {
                        ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
                        other => format!("{other:?}"),
                    })
                    .collect();
                rows.push(format!("{table}: {}", values.join(" | ")));
            }
        }
        rows
    }
}

#[test]
fn schemathesis_finds_no_server_error_no_broken_answer_and_no_way_into_another_users_data() {
    let st = Schemathesis::find();
    let world = World::new();
    let app = world.app.url("");

    // The document as served is the file, and valid OpenAPI 3.1.
    let served = client()
        .get(world.app.url("/api/openapi.json"))
        .send()
        .unwrap();
    assert_eq!(served.headers()["content-type"], "application/json");
    assert_eq!(served.headers()["cache-control"], "no-cache");
    let served = served.text().unwrap();
    let file = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json"),
    )
    .unwrap();
    assert_eq!(
        served, file,
        "/api/openapi.json is not openapi/openapi.json"
    );
    let document = world.dir.path().join("openapi.json");
    std::fs::write(&document, &served).unwrap();
    st.validate_document(&document);

    let alice = world.user("alice", 0);
    let bob = world.user("bob", 1);
    let bob_rows = world.rows_of(&bob);
    let bob_droplet = format!("{:?}", world.fake.droplet(bob.droplet_id));
    let bob_stripe = |world: &World| {
        [&bob.customer, &bob.card, &bob.spare_card].map(|id| world.stripe.object(id))
    };
    let bob_at_stripe = bob_stripe(&world);
    let bob_commands = bob.gateway.received_commands().len();
    let dir = world.dir.path();
    let mut took = Duration::ZERO;

    took += Run::new("signed-out", &app, MAX_EXAMPLES)
        .exclude(&NEVER)
        .run(&st, dir);

    // Alice's own VPS and session as the path parameters of their routes, so the success
    // answers (relayed through the hub to her gateway) are checked too; likewise her usage
    // event and her default card. `deleteVps` would take that VPS away from the rest of the
    // run; random ids exercise it in the other runs.
    took += Run::new("cookie", &app, MAX_EXAMPLES)
        .header(&format!("Cookie: {}", alice.cookie))
        .exclude(&NEVER)
        .exclude(&SIGNED_IN_NEVER)
        .exclude(&["deleteVps"])
        .config(format!(
            "[[operations]]\ninclude-path-regex = \"^/vps/\\\\{{id\\\\}}\"\n\
             parameters = {{ \"path.id\" = \"{}\", \"path.sid\" = \"{}\" }}\n\n\
             [[operations]]\ninclude-path = \"/api/billing/usage/{{id}}\"\n\
             parameters = {{ \"path.id\" = \"{}\" }}\n\n\
             [[operations]]\ninclude-path = \"/api/stripe/payment-methods/{{id}}/default\"\n\
             parameters = {{ \"path.id\" = \"{}\" }}\n",
            alice.vps_id, alice.session_id, alice.usage_id, alice.card
        ))
        .run(&st, dir);

    // Her spare card as the one to detach: the first request detaches it (204), the rest
    // find it gone (404); her default card stays for the purchases.
    took += Run::new("api-key", &app, MAX_EXAMPLES)
        .header(&format!("Authorization: Bearer {}", alice.key))
        .exclude(&NEVER)
        .exclude(&SIGNED_IN_NEVER)
        .config(format!(
            "[[operations]]\ninclude-path = \"/api/stripe/payment-methods/{{id}}\"\n\
             parameters = {{ \"path.id\" = \"{}\" }}\n",
            alice.spare_card
        ))
        .run(&st, dir);

    // Alice with bob's ids: every operation with a path parameter, signed in by her key, bob's
    // VPS, session, API key, usage event and card ids fixed as the parameters. The pages
    // (`web`) render any id (they hold no data), and `internal` routes answer only the hub.
    let har = dir.join("foreign.har");
    took += Run::new("foreign-ids", &app, MAX_EXAMPLES)
        .header(&format!("Authorization: Bearer {}", alice.key))
        .arg("--include-path-regex=\\{")
        .arg("--exclude-tag=web")
        .arg("--exclude-tag=internal")
        .exclude(&NEVER)
        .exclude(&SIGNED_IN_NEVER)
        .config(format!(
            "[parameters]\n\"path.id\" = \"{}\"\n\"path.sid\" = \"{}\"\n\n\
             [[operations]]\ninclude-path = \"/api/account/api-keys/{{id}}\"\n\
             parameters = {{ \"path.id\" = \"{}\" }}\n\n\
             [[operations]]\ninclude-path = \"/api/billing/usage/{{id}}\"\n\
             parameters = {{ \"path.id\" = \"{}\" }}\n\n\
             [[operations]]\ninclude-path-regex = \"^/api/stripe/payment-methods/\"\n\
             parameters = {{ \"path.id\" = \"{}\" }}\n",
            bob.vps_id, bob.session_id, bob.key_id, bob.usage_id, bob.card
        ))
        .har(har.clone())
        .run(&st, dir);
    let foreign = exchanges(&har);
    let bob_ids = [
        &bob.vps_id,
        &bob.session_id,
        &bob.key_id,
        &bob.usage_id,
        &bob.card,
    ];
    let aimed: Vec<_> = foreign
        .iter()
        .filter(|(_, url, _)| bob_ids.iter().any(|id| url.contains(id.as_str())))
        .collect();
    assert!(
        aimed.len() > 50,
        "too few requests with bob's ids: {}",
        aimed.len()
    );
    // 405 is the route table's answer to a method the path does not have, given before any
    // handler looks at an id: it says nothing about bob. Every other answer must be 404.
    let document: Value = serde_json::from_str(&served).unwrap();
    let undocumented = |method: &str, url: &str| {
        let path = url[app.len()..].split('?').next().unwrap_or_default();
        let template = path
            .replace(bob.vps_id.as_str(), "{id}")
            .replace(bob.session_id.as_str(), "{sid}")
            .replace(bob.key_id.as_str(), "{id}")
            .replace(bob.usage_id.as_str(), "{id}")
            .replace(bob.card.as_str(), "{id}");
        document["paths"][template]
            .get(method.to_lowercase())
            .is_none()
    };
    let answered: Vec<_> = aimed
        .iter()
        .filter(|(method, url, status)| {
            *status != 404 && !(*status == 405 && undocumented(method, url))
        })
        .collect();
    assert!(
        answered.is_empty(),
        "requests with bob's ids not answered 404: {answered:#?}"
    );

    assert_eq!(world.rows_of(&bob), bob_rows, "bob's rows changed");
    assert_eq!(
        bob_stripe(&world),
        bob_at_stripe,
        "bob's customer or cards changed at Stripe"
    );
    assert_eq!(
        format!("{:?}", world.fake.droplet(bob.droplet_id)),
        bob_droplet
    );
    assert_eq!(
        bob.gateway.received_commands().len(),
        bob_commands,
        "bob's gateway received commands during the runs"
    );

    // The hub's run last: the hub is trusted with every gateway, and a sweep with
    // `hub_started` records them all disconnected, bob's included.
    took += Run::new("hub", &app, MAX_EXAMPLES)
        .header("Authorization: Bearer test-hub-secret")
        .arg("--include-tag=internal")
        .exclude(&NEVER)
        .config(format!(
            "[[operations]]\ninclude-path = \"/internal/gateways/{{id}}/events\"\n\
             parameters = {{ \"path.id\" = \"{}\" }}\n",
            alice.gateway_id
        ))
        .run(&st, dir);
    eprintln!("schemathesis: {took:?} in all");
}
