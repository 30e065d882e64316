//! The whole loop, all real processes on port 0: `chatcode up` (app + hub on one port), the
//! DigitalOcean fake and the gateway simulator. Sign in, create a VPS, the simulator connects
//! with the credentials from its cloud-init, start a session, attach a browser, type, resize,
//! snapshot, resume without loss, survive a gateway restart, end the session, delete the VPS.
//! A second user sees none of it.

mod hub_support;

use std::time::Duration;

use chatcode_fakes::digitalocean::{self, DoAccount, DoConfig};
use chatcode_gateway_sim::{Backoff, GatewaySim, SimConfig};
use chatcode_testkit::{Browser, Process, ensure_components_built, gateway_env};
use hub_support::Client;
use serde_json::{Value, json};
use tokio::task::block_in_place;

/// Sends a request from a blocking test browser inside the async test.
fn call(browser: &mut Browser<'_>, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    block_in_place(|| browser.send(method, path, body))
}

fn input(session_id: &str, text: &str) -> Value {
    use base64::Engine as _;
    json!({"type": "session.input", "schema_version": "1", "session_id": session_id,
           "data": base64::engine::general_purpose::STANDARD.encode(text)})
}

/// Reads frames until their text contains `needle`; checks seqs only ever increase by one.
async fn read_until(browser: &mut Client, needle: &str, last_seq: &mut Option<u64>) -> String {
    let mut seen = String::new();
    while !seen.contains(needle) {
        let (seq, payload) = browser.frame().await;
        if let Some(last) = *last_seq {
            assert_eq!(
                seq,
                last + 1,
                "frames arrive in order, without gaps or duplicates"
            );
        }
        *last_seq = Some(seq);
        seen.push_str(&String::from_utf8_lossy(&payload));
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_sign_in_to_keystrokes_and_back() {
    ensure_components_built();
    let accounts = vec![
        DoAccount::default(),
        DoAccount::new("Other Person", "other@example.com"),
    ];
    let (do_server, fake) = digitalocean::spawn(DoConfig {
        accounts: accounts.clone(),
        ..DoConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut command =
        chatcode_testkit::chatcode_up(env!("CARGO_BIN_EXE_chatcode"), &data, "development");
    chatcode_testkit::use_digitalocean_fake(&mut command, &do_server.url())
        // The hub is reached where the app is: `chatcode up` fills in its own address.
        .env_remove("SPIN_VARIABLE_HUB_PUBLIC_URL");
    let app = block_in_place(|| Process::start(command)).unwrap();

    // Sign in (development login) with DigitalOcean connected.
    let mut alice = Browser::new(&app);
    let alice_id = block_in_place(|| alice.login("alice"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tokens = fake.issue_token(&accounts[0].uuid, "read write").unwrap();
    chatcode_testkit::connect_digitalocean(
        &data,
        &alice_id,
        &accounts[0].uuid,
        &tokens.access_token,
        &tokens.refresh_token,
    );

    // Create a VPS; the simulator starts with the credentials from its cloud-init.
    let (status, created) = call(
        &mut alice,
        "POST",
        "/vps",
        Some(json!({"region": "ams3", "size": "s-1vcpu-1gb"})),
    );
    assert_eq!(status, 201, "{created}");
    let vps_id = created["vps_id"].as_str().unwrap().to_owned();
    let droplet_id = created["droplet_id"].as_u64().unwrap();
    let user_data = fake.droplet(droplet_id).unwrap().user_data.unwrap();
    let env = gateway_env(&user_data);
    assert_eq!(
        env["GATEWAY_CP_URL"],
        format!("ws://{}/gw/connect", app.addr())
    );
    let env_file: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let mut sim_config = SimConfig::from_env_file(&env_file).unwrap();
    sim_config.backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_secs(1),
    };
    sim_config.health_interval = Duration::from_secs(1);
    let sim = GatewaySim::start(sim_config.clone());
    sim.wait_connected(Duration::from_secs(20)).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, detail) = call(&mut alice, "GET", &format!("/vps/{vps_id}"), None);
        if detail["status"] == "active" && detail["gateway"]["connected"] == true {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never active: {detail}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Start a session.
    let (status, session) = call(
        &mut alice,
        "POST",
        &format!("/vps/{vps_id}/sessions"),
        Some(json!({"title": "hello", "agent_type": "none", "workdir": "/root/work"})),
    );
    assert_eq!(status, 201, "{session}");
    assert_eq!(session["status"], "running");
    let session_id = session["id"].as_str().unwrap().to_owned();
    let sessions_path = format!("/vps/{vps_id}/sessions");
    let session_path = format!("{sessions_path}/{session_id}");

    // Attach a browser with a ticket, type, and read the echo.
    let (status, attach) = call(&mut alice, "POST", &format!("{session_path}/attach"), None);
    assert_eq!(status, 200, "{attach}");
    let url = attach["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("ws://{}/vps/{vps_id}/terminal?", app.addr())),
        "{url}"
    );
    let mut browser = Client::connect(&url).await.unwrap();
    browser.json_of("session.snapshot").await;
    browser.send(input(&session_id, "echo hi\r")).await;
    let mut last_seq = None;
    let seen = read_until(&mut browser, "hi\r\n", &mut last_seq).await;
    assert!(
        seen.contains("echo hi"),
        "the shell echoes what was typed: {seen:?}"
    );

    // Resize, then the snapshot route shows the screen at the new size.
    browser
        .send(
            json!({"type": "session.resize", "schema_version": "1", "session_id": session_id,
                     "cols": 100, "rows": 30}),
        )
        .await;
    browser.json_of("ack").await;
    let (status, snapshot) = call(&mut alice, "GET", &format!("{session_path}/snapshot"), None);
    assert_eq!(status, 200, "{snapshot}");
    assert_eq!(
        (snapshot["cols"].as_u64(), snapshot["rows"].as_u64()),
        (Some(100), Some(30))
    );
    assert!(
        snapshot["content"].as_str().unwrap().contains("hi"),
        "{snapshot}"
    );

    // Drop the browser; output goes on; reattach with last_seq: nothing lost or repeated.
    browser.close().await;
    sim.emit_output(&session_id, b"while you were away\r\n")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, attach) = call(&mut alice, "POST", &format!("{session_path}/attach"), None);
    let resume_url = format!(
        "{}&last_seq={}",
        attach["url"].as_str().unwrap(),
        last_seq.unwrap()
    );
    let mut browser = Client::connect(&resume_url).await.unwrap();
    read_until(&mut browser, "while you were away", &mut last_seq).await;

    // The gateway restarts within 30 s: the session keeps running and output continues.
    let kept = sim.stop_keep_sessions().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sim = GatewaySim::start_with(sim_config, kept);
    sim.wait_connected(Duration::from_secs(20)).await.unwrap();
    browser.json_of("session.snapshot").await;
    browser.send(input(&session_id, "echo again\r")).await;
    let mut after_restart = None;
    let seen = read_until(&mut browser, "again\r\n", &mut after_restart).await;
    assert!(
        after_restart > last_seq,
        "seq continues after the restart: {seen:?}"
    );
    let (_, list) = call(&mut alice, "GET", &sessions_path, None);
    assert_eq!(list["sessions"][0]["status"], "running", "{list}");

    // A second user sees none of it and gets 404 on every id.
    let mut mallory = Browser::new(&app);
    block_in_place(|| mallory.login("mallory"));
    for (method, path) in [
        ("GET", format!("/vps/{vps_id}")),
        ("GET", sessions_path.clone()),
        ("POST", sessions_path.clone()),
        ("DELETE", session_path.clone()),
        ("GET", format!("{session_path}/snapshot")),
        ("POST", format!("{session_path}/attach")),
        ("DELETE", format!("/vps/{vps_id}")),
    ] {
        let (status, body) = call(&mut mallory, method, &path, Some(json!({"title": "x"})));
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
    let (_, list) = call(&mut mallory, "GET", "/vps", None);
    assert_eq!(list, json!({"vps": []}));

    // End the session, then delete the VPS: the droplet is gone at DigitalOcean.
    let (status, _) = call(&mut alice, "DELETE", &session_path, None);
    assert_eq!(status, 204);
    let (_, list) = call(&mut alice, "GET", &sessions_path, None);
    assert_eq!(list["sessions"][0]["status"], "ended");
    let (status, _) = call(&mut alice, "DELETE", &session_path, None);
    assert_eq!(status, 204, "ending an ended session is a no-op");
    let (status, _) = call(&mut alice, "DELETE", &format!("/vps/{vps_id}"), None);
    assert_eq!(status, 204);
    assert!(fake.droplet(droplet_id).is_none());
    sim.stop().await;
    drop(do_server);
}
