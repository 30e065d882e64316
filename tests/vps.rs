//! The vps component through `chatcode up`, against the DigitalOcean fake: creating a VPS
//! with gateway credentials in cloud-init, the hub's internal routes called exactly as the
//! hub will call them, power, delete, DigitalOcean failures, and every refusal.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use chatcode_core::{crypto::TokenCipher, token::hash_token};
use chatcode_fakes::{
    FakeServer, Fault,
    digitalocean::{self, DoAccount, DoConfig, DoEndpoint, DoHandle, Droplet, DropletStatus},
};
use chatcode_testkit::{
    Browser, Process, TEST_GATEWAY_DOWNLOAD_URL, TEST_GATEWAY_SHA256, client,
    ensure_components_built, gateway_env,
};
use serde_json::{Value, json};

const HUB_SECRET: &str = "test-hub-secret";
const SALT: &str = "test-gateway-token-salt";
/// The app's DigitalOcean calls give up after this long.
const DO_TIMEOUT_SECONDS: u64 = 2;

struct Setup {
    accounts: Vec<DoAccount>,
    _dir: tempfile::TempDir,
    data: PathBuf,
    app: Process,
    _fake: FakeServer,
    fake: DoHandle,
}

/// A created VPS as a test follows it.
struct Created {
    vps_id: String,
    droplet: Droplet,
    /// What cloud-init writes to the gateway's environment.
    env: BTreeMap<String, String>,
}

impl Setup {
    fn new() -> Self {
        Self::with_variables(&[])
    }

    /// A setup whose app gets these `SPIN_VARIABLE_*` environment variables on top of the
    /// usual ones (an empty value unsets one).
    fn with_variables(variables: &[(&str, &str)]) -> Self {
        ensure_components_built();
        let accounts = vec![
            DoAccount::default(),
            DoAccount::new("Other Person", "other@example.com"),
        ];
        let (server, fake) = digitalocean::spawn(DoConfig {
            accounts: accounts.clone(),
            ..DoConfig::default()
        });
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut command =
            chatcode_testkit::chatcode_up(env!("CARGO_BIN_EXE_chatcode"), &data, "development");
        chatcode_testkit::use_digitalocean_fake(&mut command, &server.url()).env(
            "SPIN_VARIABLE_DO_API_TIMEOUT_SECONDS",
            DO_TIMEOUT_SECONDS.to_string(),
        );
        command.envs(variables.iter().copied());
        let app = Process::start(command).unwrap();
        Self {
            accounts,
            _dir: dir,
            data,
            app,
            _fake: server,
            fake,
        }
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.data.join("sqlite_db.db")).unwrap()
    }

    /// Signs in `username` and connects the DigitalOcean account `account` (index into the
    /// fake's accounts) with a token pair the fake issued, stored as the auth flow stores it.
    fn user(&self, username: &str, account: usize) -> (Browser<'_>, String) {
        let mut browser = Browser::new(&self.app);
        let user_id = browser.login(username)["id"].as_str().unwrap().to_owned();
        let uuid = self.accounts[account].uuid.clone();
        let tokens = self.fake.issue_token(&uuid, "read write").unwrap();
        chatcode_testkit::connect_digitalocean(
            &self.data,
            &user_id,
            &uuid,
            &tokens.access_token,
            &tokens.refresh_token,
        );
        (browser, user_id)
    }

    /// The access token the app holds for `user_id`.
    fn access_token(&self, user_id: &str) -> String {
        let sealed: String = self
            .db()
            .query_row(
                "SELECT access_token_encrypted FROM do_connections WHERE user_id = ?",
                [user_id],
                |r| r.get(0),
            )
            .unwrap();
        TokenCipher::from_base64_key(chatcode_testkit::TEST_ENCRYPTION_KEY)
            .unwrap()
            .open(&sealed, &format!("do_access_token:{user_id}"))
            .unwrap()
    }

    fn create(&self, browser: &mut Browser<'_>) -> Created {
        let (status, body) = browser.send(
            "POST",
            "/vps",
            Some(json!({"region": "ams3", "size": "s-1vcpu-1gb"})),
        );
        assert_eq!(status, 201, "{body}");
        let vps_id = body["vps_id"].as_str().unwrap().to_owned();
        let droplet_id = body["droplet_id"].as_u64().unwrap();
        let droplet = self.fake.droplet(droplet_id).expect("the droplet exists");
        let env = gateway_env(droplet.user_data.as_deref().unwrap());
        Created {
            vps_id,
            droplet,
            env,
        }
    }

    /// Calls an internal route the way the hub does.
    fn internal(&self, path: &str, bearer: Option<&str>, body: &Value) -> (u16, Value) {
        let mut request = client().post(self.app.url(path)).json(body);
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    fn hub(&self, path: &str, body: &Value) -> (u16, Value) {
        self.internal(path, Some(HUB_SECRET), body)
    }

    /// The gateway of `created` authenticates and says hello, as the hub reports it.
    fn gateway_comes_up(&self, created: &Created) {
        let gateway_id = &created.env["GATEWAY_ID"];
        let (status, body) = self.hub(
            "/internal/gateways/auth",
            &json!({"gateway_id": gateway_id, "token": created.env["GATEWAY_AUTH_TOKEN"]}),
        );
        assert_eq!(status, 200, "{body}");
        let (status, body) = self.hub(
            &format!("/internal/gateways/{gateway_id}/events"),
            &json!({"events": [
                {"kind": "connected", "at": 1_000},
                {"kind": "gateway", "at": 1_001, "event": hello(gateway_id)},
            ]}),
        );
        assert_eq!((status, &body), (200, &json!({"applied": 2, "ignored": 0})));
    }

    fn vps_status(&self, vps_id: &str) -> String {
        self.db()
            .query_row("SELECT status FROM vps WHERE id = ?", [vps_id], |r| {
                r.get(0)
            })
            .unwrap()
    }
}

fn hello(gateway_id: &str) -> Value {
    json!({
        "type": "gateway.hello", "schema_version": "1", "gateway_id": gateway_id,
        "version": "v0.1.0", "hostname": "chatcode-box", "go_version": "go1.23.4",
        "system_info": {"os": "linux", "arch": "amd64", "cpus": 2,
                        "ram_total_bytes": 2_147_483_648_u64, "disk_total_bytes": 53_687_091_200_u64}
    })
}

fn health(gateway_id: &str, active: &[(&str, &str)]) -> Value {
    let active: Vec<Value> = active
        .iter()
        .map(|(id, at)| json!({"session_id": id, "last_activity_at": at}))
        .collect();
    json!({
        "type": "gateway.health", "schema_version": "1", "gateway_id": gateway_id,
        "timestamp": "2026-11-22T03:00:00Z", "cpu_percent": 12.5,
        "ram_used_bytes": 1_073_741_824_u64, "ram_total_bytes": 2_147_483_648_u64,
        "disk_used_bytes": 10_737_418_240_u64, "disk_total_bytes": 53_687_091_200_u64,
        "uptime_seconds": 3600, "active_sessions": active
    })
}

#[test]
fn a_new_vps_gets_credentials_in_cloud_init_and_turns_active_on_hello() {
    let setup = Setup::new();
    let (mut browser, user_id) = setup.user("alice", 0);
    let created = setup.create(&mut browser);

    // The droplet: tagged, sized, with cloud-init that installs and configures the gateway.
    let droplet = &created.droplet;
    assert_eq!(
        droplet.tags,
        [
            "chatcode".to_owned(),
            format!("chatcode-vps-{}", created.vps_id)
        ]
    );
    assert_eq!(
        (droplet.region.as_str(), droplet.size.as_str()),
        ("ams3", "s-1vcpu-1gb")
    );
    assert_eq!(droplet.image, "ubuntu-24-04-x64");
    let user_data = droplet.user_data.as_deref().unwrap();
    assert!(user_data.starts_with("#cloud-config\n"));
    assert!(
        user_data.contains(&format!("echo '{TEST_GATEWAY_SHA256}  ")),
        "{user_data}"
    );
    // The binary's URL is gateway_download_url with {version} replaced.
    let download_url = TEST_GATEWAY_DOWNLOAD_URL.replace("{version}", "v0.1.0");
    assert!(user_data.contains(&download_url), "{user_data}");
    let env = &created.env;
    assert_eq!(env["GATEWAY_CP_URL"], "wss://hub.chatcode.test/gw/connect");
    assert_eq!(env["GATEWAY_VERSION"], "v0.1.0");
    assert!(env["GATEWAY_ID"].starts_with("gw-"));
    let token = &env["GATEWAY_AUTH_TOKEN"];
    assert_eq!(token.len(), 64, "32 random bytes in hex");

    // Only the HMAC of the token is stored.
    let stored: String = setup
        .db()
        .query_row(
            "SELECT auth_token_hash FROM gateways WHERE id = ?",
            [&env["GATEWAY_ID"]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, hash_token(token, SALT));
    assert_ne!(&stored, token);

    let (status, list) = browser.send("GET", "/vps", None);
    assert_eq!(status, 200);
    let listed = &list["vps"][0];
    assert_eq!(listed["id"], created.vps_id.as_str());
    assert_eq!(listed["status"], "provisioning");
    assert_eq!(listed["gateway"]["connected"], false);

    // The hub authenticates the gateway with the credentials from cloud-init.
    let (status, body) = setup.hub(
        "/internal/gateways/auth",
        &json!({"gateway_id": env["GATEWAY_ID"], "token": token}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"vps_id": created.vps_id, "user_id": user_id}));
    for (gateway_id, token) in [
        (env["GATEWAY_ID"].as_str(), "0".repeat(64)),
        (env["GATEWAY_ID"].as_str(), String::new()),
        ("gw-doesnotexist000000000", token.clone()),
    ] {
        let (status, body) = setup.hub(
            "/internal/gateways/auth",
            &json!({"gateway_id": gateway_id, "token": token}),
        );
        assert_eq!(status, 401, "{gateway_id}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }

    // Connection, hello and health, as one batch.
    let gateway_id = &env["GATEWAY_ID"];
    let (status, body) = setup.hub(
        &format!("/internal/gateways/{gateway_id}/events"),
        &json!({"events": [
            {"kind": "connected", "at": 1_000},
            {"kind": "gateway", "at": 1_001, "event": hello(gateway_id)},
            {"kind": "gateway", "at": 1_002, "event": health(gateway_id, &[])},
        ]}),
    );
    assert_eq!((status, &body), (200, &json!({"applied": 3, "ignored": 0})));

    // The droplet booted meanwhile: the detail learns its address from DigitalOcean.
    setup.fake.set_status(droplet.id, DropletStatus::Active);
    let (status, detail) = browser.send("GET", &format!("/vps/{}", created.vps_id), None);
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["status"], "active");
    assert!(detail["ipv4"].as_str().unwrap().starts_with("203.0.113."));
    let gateway = &detail["gateway"];
    assert_eq!(gateway["connected"], true);
    assert_eq!(gateway["version"], "v0.1.0");
    assert_eq!(gateway["hostname"], "chatcode-box");
    assert_eq!(gateway["last_seen_at"], 1_002);
    assert_eq!(gateway["system_info"]["cpus"], 2);
    assert_eq!(gateway["health"]["cpu_percent"], 12.5);
    assert_eq!(gateway["health"]["ram_used_bytes"], 1_073_741_824_u64);
    assert_eq!(gateway["health"]["disk_used_bytes"], 10_737_418_240_u64);
    assert_eq!(gateway["health"]["uptime_seconds"], 3600);
    assert_eq!(gateway["health"]["active_sessions"], 0);

    let (status, body) = setup.hub(
        &format!("/internal/gateways/{gateway_id}/events"),
        &json!({"events": [{"kind": "disconnected", "at": 2_000}]}),
    );
    assert_eq!(status, 200, "{body}");
    let (_, detail) = browser.send("GET", &format!("/vps/{}", created.vps_id), None);
    assert_eq!(detail["gateway"]["connected"], false);
    assert_eq!(detail["gateway"]["disconnected_at"], 2_000);
}

#[test]
fn power_off_and_on_follow_the_droplet() {
    let setup = Setup::new();
    let (mut browser, _) = setup.user("bob", 0);
    let created = setup.create(&mut browser);
    let path = |action: &str| format!("/vps/{}/{action}", created.vps_id);

    // Still provisioning: neither action is allowed.
    for action in ["power-off", "power-on"] {
        let (status, body) = browser.send("POST", &path(action), None);
        assert_eq!(status, 409, "{action}: {body}");
        assert_eq!(body["error"]["code"], "conflict");
    }
    setup
        .fake
        .set_status(created.droplet.id, DropletStatus::Active);
    setup.gateway_comes_up(&created);

    let (status, body) = browser.send("POST", &path("power-off"), None);
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "powering_off");
    let actions = setup.fake.traffic().requests_to(DoEndpoint::DropletAction);
    assert_eq!(
        actions.last().unwrap().json().unwrap(),
        json!({"type": "power_off"})
    );
    // DigitalOcean finished: the detail settles the status.
    let (_, detail) = browser.send("GET", &format!("/vps/{}", created.vps_id), None);
    assert_eq!(detail["status"], "off");
    let (status, _) = browser.send("POST", &path("power-off"), None);
    assert_eq!(status, 409);

    let (status, body) = browser.send("POST", &path("power-on"), None);
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "powering_on");
    let (_, detail) = browser.send("GET", &format!("/vps/{}", created.vps_id), None);
    assert_eq!(detail["status"], "active");
    assert_eq!(
        setup.fake.droplet(created.droplet.id).unwrap().status,
        DropletStatus::Active
    );
}

#[test]
fn delete_destroys_the_droplet_and_every_row() {
    let setup = Setup::new();
    let (mut browser, user_id) = setup.user("carol", 0);
    let created = setup.create(&mut browser);
    let gateway_id = created.env["GATEWAY_ID"].clone();
    setup
        .db()
        .execute(
            "INSERT INTO sessions (id, user_id, vps_id, title, workdir, status, created_at, \
             updated_at) VALUES ('ses-deleteme00000000000000', ?1, ?2, 't', '/root', \
             'running', 0, 0)",
            [&user_id, &created.vps_id],
        )
        .unwrap();

    let (status, body) = browser.send("DELETE", &format!("/vps/{}", created.vps_id), None);
    assert_eq!(status, 204, "{body}");
    assert!(setup.fake.droplet(created.droplet.id).is_none());
    for table in ["vps", "gateways", "sessions"] {
        let count: i64 = setup
            .db()
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 0, "{table}");
    }
    let (status, _) = browser.send("GET", &format!("/vps/{}", created.vps_id), None);
    assert_eq!(status, 404);
    let (status, _) = browser.send("DELETE", &format!("/vps/{}", created.vps_id), None);
    assert_eq!(status, 404);
    // Its gateway can no longer authenticate.
    let (status, _) = setup.hub(
        "/internal/gateways/auth",
        &json!({"gateway_id": gateway_id, "token": created.env["GATEWAY_AUTH_TOKEN"]}),
    );
    assert_eq!(status, 401);

    // A droplet DigitalOcean no longer has counts as destroyed.
    let again = setup.create(&mut browser);
    setup
        .fake
        .traffic()
        .fail_next(DoEndpoint::DeleteDroplet, 1, Fault::Status(404));
    let (status, body) = browser.send("DELETE", &format!("/vps/{}", again.vps_id), None);
    assert_eq!(status, 204, "{body}");

    // A failed destroy keeps the VPS, so the user can try again.
    let third = setup.create(&mut browser);
    setup
        .fake
        .traffic()
        .fail_next(DoEndpoint::DeleteDroplet, 1, Fault::Status(500));
    let (status, body) = browser.send("DELETE", &format!("/vps/{}", third.vps_id), None);
    assert_eq!(status, 502, "{body}");
    assert_eq!(setup.vps_status(&third.vps_id), "provisioning");
    let (status, _) = browser.send("DELETE", &format!("/vps/{}", third.vps_id), None);
    assert_eq!(status, 204);
}

#[test]
fn the_create_form_offers_digitaloceans_regions_and_sizes_cached_for_an_hour() {
    let setup = Setup::new();
    let mut anonymous = Browser::new(&setup.app);
    assert_eq!(anonymous.send("GET", "/vps/options", None).0, 401);
    let mut unlinked = Browser::new(&setup.app);
    unlinked.login("bob");
    let (status, body) = unlinked.send("GET", "/vps/options", None);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "do_not_connected");

    let (mut alice, _) = setup.user("alice", 0);
    let (status, options) = alice.send("GET", "/vps/options", None);
    assert_eq!(status, 200, "{options}");
    let ams3 = options["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["slug"] == "ams3")
        .expect("ams3 is offered");
    assert_eq!(ams3["name"], "Amsterdam 3");
    assert!(
        ams3["sizes"]
            .as_array()
            .unwrap()
            .contains(&json!("s-1vcpu-1gb"))
    );
    let sizes = options["sizes"].as_array().unwrap();
    let small = sizes.iter().find(|s| s["slug"] == "s-1vcpu-1gb").unwrap();
    assert_eq!(
        (
            &small["vcpus"],
            &small["memory"],
            &small["disk"],
            &small["price_monthly"]
        ),
        (&json!(1), &json!(1024), &json!(25), &json!(6.0))
    );
    assert!(
        small["regions"]
            .as_array()
            .unwrap()
            .contains(&json!("ams3"))
    );
    let prices: Vec<f64> = sizes
        .iter()
        .map(|s| s["price_monthly"].as_f64().unwrap())
        .collect();
    assert!(
        prices.windows(2).all(|w| w[0] <= w[1]),
        "cheapest first: {prices:?}"
    );

    // Cached: the next dashboard, even another user's, does not ask DigitalOcean again.
    assert_eq!(
        alice.send("GET", "/vps/options", None),
        (200, options.clone())
    );
    assert_eq!(unlinked.send("GET", "/vps/options", None), (200, options));
    assert_eq!(setup.fake.traffic().calls(DoEndpoint::ListRegions), 1);
    assert_eq!(setup.fake.traffic().calls(DoEndpoint::ListSizes), 1);
    assert_eq!(alice.send("POST", "/vps/options", None).0, 405);
}

#[test]
fn creating_a_vps_needs_the_gateway_release_and_answers_503_naming_what_is_missing() {
    let create = json!({"region": "ams3", "size": "s-1vcpu-1gb"});
    // Where the gateway binary is has no default: the stock release cannot dial this hub.
    for (unset, named) in [
        (
            &["SPIN_VARIABLE_GATEWAY_DOWNLOAD_URL"][..],
            "variable gateway_download_url is not set",
        ),
        (
            &["SPIN_VARIABLE_GATEWAY_SHA256"][..],
            "variable gateway_sha256 is not set",
        ),
        (
            &[
                "SPIN_VARIABLE_GATEWAY_DOWNLOAD_URL",
                "SPIN_VARIABLE_GATEWAY_SHA256",
            ][..],
            "variables gateway_download_url, gateway_sha256 are not set",
        ),
    ] {
        let variables: Vec<(&str, &str)> = unset.iter().map(|name| (*name, "")).collect();
        let setup = Setup::with_variables(&variables);
        let (mut browser, _) = setup.user("gina", 0);
        let (status, error) = browser.send("POST", "/vps", Some(create.clone()));
        assert_eq!(status, 503, "{error}");
        assert_eq!(error["error"]["code"], "service_unavailable");
        assert_eq!(
            error["error"]["message"],
            format!("VPS provisioning is not configured: {named}")
        );
        // Refused before DigitalOcean is asked for anything.
        assert_eq!(setup.fake.traffic().calls(DoEndpoint::CreateDroplet), 0);
        assert_eq!(setup.fake.traffic().calls(DoEndpoint::ListDroplets), 0);
    }

    // A download URL that is not http(s) is named too.
    let setup = Setup::with_variables(&[(
        "SPIN_VARIABLE_GATEWAY_DOWNLOAD_URL",
        "ftp://downloads.chatcode.test/gateway",
    )]);
    let (mut browser, _) = setup.user("gina", 0);
    let (status, error) = browser.send("POST", "/vps", Some(create));
    assert_eq!(status, 503, "{error}");
    assert_eq!(
        error["error"]["message"],
        "VPS provisioning is not configured: gateway_download_url must be an http(s) URL"
    );
}

#[test]
fn bad_input_and_foreign_ids_are_refused() {
    let setup = Setup::new();
    let (mut alice, _) = setup.user("alice", 0);
    let (mut mallory, _) = setup.user("mallory", 1);
    let created = setup.create(&mut alice);
    let id = &created.vps_id;

    // Not signed in, or with a forged cookie.
    let mut anonymous = Browser::new(&setup.app);
    let mut forged = Browser::new(&setup.app);
    forged.cookie = Some("chatcode_session=forged".into());
    for browser in [&mut anonymous, &mut forged] {
        for (method, path) in [
            ("GET", "/vps".to_owned()),
            ("POST", "/vps".to_owned()),
            ("GET", format!("/vps/{id}")),
            ("DELETE", format!("/vps/{id}")),
            ("POST", format!("/vps/{id}/power-off")),
            ("POST", format!("/vps/{id}/power-on")),
        ] {
            let (status, body) = browser.send(method, &path, Some(json!({})));
            assert_eq!(status, 401, "{method} {path}: {body}");
            assert_eq!(body["error"]["code"], "unauthorized");
        }
    }

    // Another user's id, and ids that do not exist, answer 404.
    for path in [
        id.clone(),
        "vps-doesnotexist00000000".into(),
        "not an id".into(),
    ] {
        let path = format!("/vps/{}", urlencoding::encode(&path));
        for (method, suffix) in [
            ("GET", ""),
            ("DELETE", ""),
            ("POST", "/power-off"),
            ("POST", "/power-on"),
        ] {
            let (status, body) = mallory.send(method, &format!("{path}{suffix}"), None);
            assert_eq!(status, 404, "{method} {path}{suffix}: {body}");
            assert_eq!(body["error"]["code"], "not_found");
        }
    }
    let (_, list) = mallory.send("GET", "/vps", None);
    assert_eq!(list, json!({"vps": []}));
    assert!(setup.fake.droplet(created.droplet.id).is_some());

    // Bodies: malformed, unknown fields, invalid fields, oversized.
    let (status, body) = alice.send("POST", "/vps", None);
    assert_eq!(status, 400, "{body}");
    let (status, _) = alice.send(
        "POST",
        "/vps",
        Some(json!({"region": "ams3", "size": "s-1vcpu-1gb", "color": "red"})),
    );
    assert_eq!(status, 400);
    let (status, body) = alice.send(
        "POST",
        "/vps",
        Some(json!({"region": "Amsterdam", "size": "", "name": "-x", "image": "bad image"})),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "unprocessable");
    let fields = body["error"]["fields"].as_object().unwrap();
    let named: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(named, ["image", "name", "region", "size"]);
    let (status, body) = alice.send("POST", "/vps", Some(json!({"size": "s-1vcpu-1gb"})));
    assert_eq!(
        (status, body["error"]["fields"]["region"].as_str()),
        (422, Some("is required"))
    );
    let huge = "x".repeat(64 * 1024);
    let (status, _) = alice.send(
        "POST",
        "/vps",
        Some(json!({"region": "ams3", "size": "s-1vcpu-1gb", "name": huge})),
    );
    assert_eq!(status, 413);
    // DigitalOcean's own 422 (a size it does not offer) comes back as a 422.
    let (status, body) = alice.send(
        "POST",
        "/vps",
        Some(json!({"region": "ams3", "size": "s-64vcpu-1tb"})),
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid size")
    );

    // Wrong methods.
    let (status, _) = alice.send("PUT", "/vps", None);
    assert_eq!(status, 405);
    let (status, _) = alice.send("GET", &format!("/vps/{id}/power-off"), None);
    assert_eq!(status, 405);

    // No DigitalOcean connection.
    let mut dave = Browser::new(&setup.app);
    dave.login("dave");
    let (status, body) = dave.send(
        "POST",
        "/vps",
        Some(json!({"region": "ams3", "size": "s-1vcpu-1gb"})),
    );
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "do_not_connected");
    assert_eq!(body["error"]["message"], "connect DigitalOcean first");

    // Nothing of the refused requests reached DigitalOcean.
    assert_eq!(setup.fake.droplets().len(), 1);
}

#[test]
fn digitalocean_failures_are_answered_and_never_leave_two_droplets() {
    let setup = Setup::new();
    let (mut browser, user_id) = setup.user("erin", 0);
    let body = json!({"region": "nyc3", "size": "s-1vcpu-1gb"});

    // An expired token is refreshed once and the call retried.
    let old = setup.access_token(&user_id);
    setup.fake.expire_token(&old);
    let first = setup.create(&mut browser);
    assert_ne!(setup.access_token(&user_id), old);
    assert!(setup.fake.token_is_valid(&setup.access_token(&user_id)));

    // Rate limited: 503 with Retry-After, nothing created.
    setup.fake.traffic().fail_next(
        DoEndpoint::CreateDroplet,
        1,
        Fault::RateLimited { retry_after: 42 },
    );
    let response = browser.request("POST", "/vps", Some(body.clone()));
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "42");
    let error: Value = response.json().unwrap();
    assert_eq!(error["error"]["code"], "service_unavailable");

    // A 500 that did no work: looked up by tag, not found, 502 with DigitalOcean's message.
    setup
        .fake
        .traffic()
        .fail_next(DoEndpoint::CreateDroplet, 1, Fault::Status(500));
    let (status, error) = browser.send("POST", "/vps", Some(body.clone()));
    assert_eq!(status, 502, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("DigitalOcean: ")
    );
    assert_eq!(setup.fake.droplets().len(), 1);

    // A lost answer: the droplet was made, the app timed out, finds it by tag and keeps it.
    setup.fake.traffic().fail_next(
        DoEndpoint::CreateDroplet,
        1,
        Fault::Late(Duration::from_secs(DO_TIMEOUT_SECONDS + 2)),
    );
    let (status, created) = browser.send("POST", "/vps", Some(body.clone()));
    assert_eq!(status, 201, "{created}");
    // Two for the refreshed create, one each for the 429, the 500 and this one.
    assert_eq!(setup.fake.traffic().calls(DoEndpoint::CreateDroplet), 5);
    assert_eq!(setup.fake.droplets().len(), 2);
    let droplet = setup
        .fake
        .droplet(created["droplet_id"].as_u64().unwrap())
        .unwrap();
    assert!(droplet.tags.contains(&format!(
        "chatcode-vps-{}",
        created["vps_id"].as_str().unwrap()
    )));

    // A create that never arrived: not found by tag, sent again once.
    setup.fake.traffic().fail_next(
        DoEndpoint::CreateDroplet,
        1,
        Fault::Hang(Duration::from_secs(DO_TIMEOUT_SECONDS + 2)),
    );
    let (status, created) = browser.send("POST", "/vps", Some(body.clone()));
    assert_eq!(status, 201, "{created}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        setup.fake.droplets().len(),
        3,
        "one droplet per created VPS"
    );

    // DigitalOcean down for every call: 502, no rows.
    setup
        .fake
        .traffic()
        .fail_next(DoEndpoint::CreateDroplet, 1, Fault::Status(503));
    setup
        .fake
        .traffic()
        .fail_next(DoEndpoint::ListDroplets, 1, Fault::Status(503));
    let (status, _) = browser.send("POST", "/vps", Some(body.clone()));
    assert_eq!(status, 502);
    let rows: i64 = setup
        .db()
        .query_row("SELECT COUNT(*) FROM vps", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 3);

    // The rows cannot be written: the droplet is deleted again, nothing is left behind.
    setup
        .db()
        .execute_batch(
            "CREATE TRIGGER refuse_gateways BEFORE INSERT ON gateways \
             BEGIN SELECT RAISE(ABORT, 'disk full'); END",
        )
        .unwrap();
    let (status, error) = browser.send("POST", "/vps", Some(body.clone()));
    assert_eq!(status, 500, "{error}");
    assert_eq!(
        setup.fake.droplets().len(),
        3,
        "the new droplet was deleted"
    );
    let rows: i64 = setup
        .db()
        .query_row("SELECT COUNT(*) FROM vps", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 3, "the transaction left no half");
    setup
        .db()
        .execute_batch("DROP TRIGGER refuse_gateways")
        .unwrap();

    // A failed power action: 502 with DigitalOcean's message, the status unchanged.
    setup
        .fake
        .set_status(first.droplet.id, DropletStatus::Active);
    setup.gateway_comes_up(&first);
    setup
        .fake
        .traffic()
        .fail_next(DoEndpoint::DropletAction, 1, Fault::Status(500));
    let (status, error) = browser.send("POST", &format!("/vps/{}/power-off", first.vps_id), None);
    assert_eq!(status, 502, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("HTTP 500")
    );
    assert_eq!(setup.vps_status(&first.vps_id), "active");

    // A revoked grant: 409 asking to connect again.
    setup.fake.revoke_token(&setup.access_token(&user_id));
    let (status, error) = browser.send("POST", &format!("/vps/{}/power-off", first.vps_id), None);
    assert_eq!(status, 409, "{error}");
    assert_eq!(error["error"]["code"], "do_not_connected");
}

#[test]
fn the_sweep_times_out_silent_vpses_and_disconnects_sessions() {
    let setup = Setup::new();
    let (mut browser, user_id) = setup.user("frank", 0);
    let silent = setup.create(&mut browser);
    let speaking = setup.create(&mut browser);
    setup.gateway_comes_up(&speaking);
    let created_at: i64 = setup
        .db()
        .query_row(
            "SELECT created_at FROM vps WHERE id = ?",
            [&silent.vps_id],
            |r| r.get(0),
        )
        .unwrap();

    let minute = 60_000;
    let (status, body) = setup.hub("/internal/sweep", &json!({"now": created_at + 9 * minute}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provisioning_timeout"], 0);
    assert_eq!(setup.vps_status(&silent.vps_id), "provisioning");

    let (_, body) = setup.hub("/internal/sweep", &json!({"now": created_at + 11 * minute}));
    assert_eq!(body["provisioning_timeout"], 1);
    assert_eq!(setup.vps_status(&silent.vps_id), "provisioning_timeout");
    assert_eq!(setup.vps_status(&speaking.vps_id), "active");
    // A late hello still brings it up.
    setup.gateway_comes_up(&silent);
    assert_eq!(setup.vps_status(&silent.vps_id), "active");

    // Sessions of a gateway gone for longer than its grace become disconnected.
    let session = "ses-sweepsession000000000";
    setup
        .db()
        .execute(
            "INSERT INTO sessions (id, user_id, vps_id, title, workdir, status, created_at, \
             updated_at) VALUES (?1, ?2, ?3, 't', '/root', 'running', 0, 0)",
            [session, &user_id, &speaking.vps_id],
        )
        .unwrap();
    let gateway = &speaking.env["GATEWAY_ID"];
    let gone_at = created_at + 20 * minute;
    setup.hub(
        &format!("/internal/gateways/{gateway}/events"),
        &json!({"events": [{"kind": "disconnected", "at": gone_at}]}),
    );
    let (_, body) = setup.hub("/internal/sweep", &json!({"now": gone_at + 60_000}));
    assert_eq!(body["sessions_disconnected"], 0);
    let (_, body) = setup.hub("/internal/sweep", &json!({"now": gone_at + 91_000}));
    assert_eq!(body["sessions_disconnected"], 1);
    let status: String = setup
        .db()
        .query_row("SELECT status FROM sessions WHERE id = ?", [session], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(status, "disconnected");

    // The gateway comes back and reports the session alive: it runs again.
    let (status, body) = setup.hub(
        &format!("/internal/gateways/{gateway}/events"),
        &json!({"events": [
            {"kind": "connected", "at": gone_at + 100_000},
            {"kind": "gateway", "at": gone_at + 100_001,
             "event": health(gateway, &[(session, "2026-11-22T03:00:00Z")])},
        ]}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, activity): (String, i64) = setup
        .db()
        .query_row(
            "SELECT status, last_activity_at FROM sessions WHERE id = ?",
            [session],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((status.as_str(), activity), ("running", 1_795_316_400_000));

    // A session the gateway stops reporting, once older than the grace, has ended; a new one
    // it has not reported yet has not.
    let young = "ses-justcreated0000000000";
    setup
        .db()
        .execute(
            "INSERT INTO sessions (id, user_id, vps_id, title, workdir, status, created_at, \
             updated_at) VALUES (?1, ?2, ?3, 't', '/root', 'running', ?4, ?4)",
            rusqlite::params![young, user_id, speaking.vps_id, gone_at + 150_000],
        )
        .unwrap();
    let (status, body) = setup.hub(
        &format!("/internal/gateways/{gateway}/events"),
        &json!({"events": [{"kind": "gateway", "at": gone_at + 200_000, "event": health(gateway, &[])}]}),
    );
    assert_eq!(status, 200, "{body}");
    let read = |id: &str| -> String {
        setup
            .db()
            .query_row("SELECT status FROM sessions WHERE id = ?", [id], |r| {
                r.get(0)
            })
            .unwrap()
    };
    assert_eq!(read(session), "ended");
    assert_eq!(read(young), "running");
}

#[test]
fn session_events_update_their_sessions_and_unknown_events_are_ignored() {
    let setup = Setup::new();
    let (mut browser, user_id) = setup.user("grace", 0);
    let created = setup.create(&mut browser);
    let (mut heidi, _) = setup.user("heidi", 1);
    let elsewhere = setup.create(&mut heidi);
    let gateway = &created.env["GATEWAY_ID"];
    let db = setup.db();
    for (id, status) in [
        ("ses-starting0000000000000", "starting"),
        ("ses-ending00000000000000", "running"),
        ("ses-failing0000000000000", "starting"),
    ] {
        db.execute(
            "INSERT INTO sessions (id, user_id, vps_id, title, workdir, status, created_at, \
             updated_at) VALUES (?1, ?2, ?3, 't', '/root', ?4, 0, 0)",
            [id, &user_id, &created.vps_id, status],
        )
        .unwrap();
    }
    // A session on another user's VPS: this gateway's events cannot touch it.
    let heidi_id: String = db
        .query_row(
            "SELECT user_id FROM vps WHERE id = ?",
            [&elsewhere.vps_id],
            |r| r.get(0),
        )
        .unwrap();
    db.execute(
        "INSERT INTO sessions (id, user_id, vps_id, title, workdir, status, created_at, \
         updated_at) VALUES ('ses-foreign0000000000000', ?1, ?2, 't', '/root', 'running', 0, 0)",
        [&heidi_id, &elsewhere.vps_id],
    )
    .unwrap();

    let event = |value: Value| json!({"kind": "gateway", "at": 5_000, "event": value});
    let (status, body) = setup.hub(
        &format!("/internal/gateways/{gateway}/events"),
        &json!({"events": [
            event(json!({"type": "session.started", "schema_version": "1", "request_id": "r1", "session_id": "ses-starting0000000000000", "pid": 42})),
            event(json!({"type": "session.ended", "schema_version": "1", "session_id": "ses-ending00000000000000", "exit_code": 3})),
            event(json!({"type": "session.error", "schema_version": "1", "session_id": "ses-failing0000000000000", "error": "tmux missing"})),
            event(json!({"type": "session.ended", "schema_version": "1", "session_id": "ses-foreign0000000000000"})),
            event(json!({"type": "gateway.teleported", "schema_version": "1"})),
            event(json!({"type": "session.started", "schema_version": "2", "session_id": "x"})),
            event(json!({"type": "gateway.hello", "schema_version": "1"})),
            event(hello("gw-someoneelse00000000000")),
        ]}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"applied": 4, "ignored": 4}));
    let read = |id: &str| -> (String, Option<i64>, Option<String>) {
        db.query_row(
            "SELECT status, exit_code, error FROM sessions WHERE id = ?",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    assert_eq!(
        read("ses-starting0000000000000"),
        ("running".into(), None, None)
    );
    assert_eq!(
        read("ses-ending00000000000000"),
        ("ended".into(), Some(3), None)
    );
    assert_eq!(
        read("ses-failing0000000000000"),
        ("error".into(), None, Some("tmux missing".into()))
    );
    assert_eq!(read("ses-foreign0000000000000").0, "running");
    assert_eq!(
        setup.vps_status(&created.vps_id),
        "provisioning",
        "a foreign hello is ignored"
    );
}

#[test]
fn internal_routes_refuse_missing_or_wrong_secrets_and_bad_batches() {
    let setup = Setup::new();
    let (mut browser, _) = setup.user("ivan", 0);
    let created = setup.create(&mut browser);
    let gateway = &created.env["GATEWAY_ID"];
    let events = format!("/internal/gateways/{gateway}/events");
    let routes = [
        (
            "/internal/gateways/auth",
            json!({"gateway_id": gateway, "token": created.env["GATEWAY_AUTH_TOKEN"]}),
        ),
        (events.as_str(), json!({"events": []})),
        ("/internal/sweep", json!({})),
    ];
    for (path, body) in &routes {
        for bearer in [
            None,
            Some("wrong"),
            Some(""),
            Some("test-hub-secret-but-longer"),
        ] {
            let (status, answer) = setup.internal(path, bearer, body);
            assert_eq!(status, 401, "{path} with {bearer:?}: {answer}");
            assert_eq!(answer["error"]["code"], "unauthorized");
        }
        let (status, answer) = setup.hub(path, body);
        assert_eq!(status, 200, "{path}: {answer}");
    }
    // A browser's session cookie is no substitute for the hub's secret.
    let (status, _) = browser.send("POST", "/internal/sweep", Some(json!({})));
    assert_eq!(status, 401);

    let (status, _) = setup.hub(
        "/internal/gateways/gw-unknown000000000000000/events",
        &json!({"events": []}),
    );
    assert_eq!(status, 404);
    let (status, _) = setup.hub(&events, &json!({"events": [{"kind": "exploded", "at": 1}]}));
    assert_eq!(status, 400);
    let (status, _) = setup.hub(&events, &json!({"nothing": true}));
    assert_eq!(status, 400);
    let many: Vec<Value> = (0..501)
        .map(|at| json!({"kind": "connected", "at": at}))
        .collect();
    let (status, body) = setup.hub(&events, &json!({"events": many}));
    assert_eq!(status, 422, "{body}");
    let (status, _) = setup.hub("/internal/gateways/auth", &json!({"gateway_id": gateway}));
    assert_eq!(status, 400);
    let (status, _) = setup.hub("/internal/sweep", &json!({"now": "soon"}));
    assert_eq!(status, 400);
}

#[test]
fn chatcode_up_serves_the_hub_on_its_own_port_too() {
    use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};

    let setup = Setup::new();
    let (mut browser, _) = setup.user("judy", 0);
    let created = setup.create(&mut browser);

    // The hub answers on its own port, announced after the app's.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let hub = loop {
        let output = setup.app.output();
        if let Some(hub) = output
            .lines()
            .find_map(|line| line.strip_prefix("Hub listening on "))
        {
            break hub.trim().to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the hub's address is never printed"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let health: Value = client()
        .get(format!("{hub}/healthz"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["status"], "ok");

    // A gateway dials the app's port with its cloud-init credentials: the upgrade reaches the
    // hub, which checks the token with the app.
    let dial = |token: &str| {
        let mut request = format!("ws://{}/gw/connect", setup.app.addr())
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        request
            .headers_mut()
            .insert("x-gateway-id", created.env["GATEWAY_ID"].parse().unwrap());
        tungstenite::connect(request)
    };
    match dial("wrong") {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    let (mut socket, _) = dial(&created.env["GATEWAY_AUTH_TOKEN"]).unwrap();
    socket
        .send(tungstenite::Message::Text(
            hello(&created.env["GATEWAY_ID"]).to_string().into(),
        ))
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while setup.vps_status(&created.vps_id) != "active" {
        assert!(
            std::time::Instant::now() < deadline,
            "the VPS never became active"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, detail) = browser.send("GET", &format!("/vps/{}", created.vps_id), None);
    assert_eq!(detail["gateway"]["connected"], true);
}
