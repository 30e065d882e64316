//! The sessions component through the real app and hub, with a gateway played at the protocol
//! level so every answer (ack, refusal, silence) is the test's choice: relays, attach tickets,
//! and every refusal (cookies, foreign ids, bodies, offline gateway, hub down).

mod hub_support;

use chatcode_core::ticket::{self, Mode};
use hub_support::{Client, HUB_SECRET, World, login};
use serde_json::json;

fn session_status(world: &World, session_id: &str) -> (String, Option<String>) {
    let db = rusqlite::Connection::open(world.data_dir().join("sqlite_db.db")).unwrap();
    db.query_row(
        "SELECT status, error FROM sessions WHERE id = ?",
        [session_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_created_ended_snapshotted_and_attached_through_the_hub() {
    let world = World::new().await;
    let cookie = Some(world.cookie.as_str());
    let sessions = format!("/vps/{}/sessions", world.vps.id);

    // No gateway yet: 409 gateway_offline, and nothing recorded.
    let (status, body) = world
        .call(cookie, "POST", &sessions, Some(json!({"title": "work"})))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("gateway_offline"))
    );
    let (_, list) = world.call(cookie, "GET", &sessions, None).await;
    assert_eq!(list, json!({"sessions": []}));

    let mut gateway = world.gateway().await;
    world
        .wait_for_vps("connected", |d| d["gateway"]["connected"] == true)
        .await;

    // Create: the gateway gets session.create with everything asked for.
    let create = world.call(
        cookie,
        "POST",
        &sessions,
        Some(
            json!({"title": "work", "agent_type": "codex", "workdir": "/srv/app",
                    "agent_config": {"agents_md": "be nice"}, "env": {"FOO": "bar"}}),
        ),
    );
    let (answer, command) = tokio::join!(create, gateway.accept());
    let (status, session) = answer;
    assert_eq!(status, 201, "{session}");
    assert_eq!(session["status"], "running");
    assert_eq!(session["agent_type"], "codex");
    let session_id = session["id"].as_str().unwrap().to_owned();
    assert_eq!(command["type"], "session.create");
    assert_eq!(command["session_id"], session_id.as_str());
    assert_eq!(command["request_id"], format!("create-{session_id}"));
    assert_eq!(
        (command["agent"].as_str(), command["workdir"].as_str()),
        (Some("codex"), Some("/srv/app"))
    );
    assert_eq!(command["env"], json!({"FOO": "bar"}));
    assert_eq!(command["agent_config"], json!({"agents_md": "be nice"}));
    let path = format!("{sessions}/{session_id}");

    // Snapshot.
    let snapshot_path = format!("{path}/snapshot");
    let (answer, command) = tokio::join!(
        world.call(cookie, "GET", &snapshot_path, None),
        gateway.accept()
    );
    assert_eq!(command["type"], "session.snapshot");
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(
        answer.1,
        json!({"session_id": session_id, "content": "$ ls\r\n", "cols": 80, "rows": 24,
               "cursor_x": 2, "cursor_y": 1, "cursor_visible": true, "alternate_on": false})
    );

    // Attach: a ticket the hub accepts, read-only on request.
    let (status, attach) = world
        .call(
            cookie,
            "POST",
            &format!("{path}/attach"),
            Some(json!({"mode": "ro"})),
        )
        .await;
    assert_eq!(status, 200, "{attach}");
    let signed = attach["ticket"].as_str().unwrap();
    let grant = ticket::verify(signed, HUB_SECRET, chatcode_core::time::now_ms()).unwrap();
    assert_eq!(
        (grant.mode, grant.session_id.as_str()),
        (Mode::ReadOnly, session_id.as_str())
    );
    assert_eq!(grant.user_id, world.user_id);
    assert_eq!(attach["expires_at"], grant.expires_at_ms);
    let url = attach["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "ws://{}/vps/{}/terminal?session_id={session_id}&ticket=",
            world.hub_addr, world.vps.id
        )),
        "{url}"
    );
    let mut browser = Client::connect(url).await.unwrap();
    gateway.accept().await;
    browser.json_of("session.snapshot").await;
    let (status, _) = world
        .call(
            cookie,
            "POST",
            &format!("{path}/attach"),
            Some(json!({"mode": "owner"})),
        )
        .await;
    assert_eq!(status, 400);

    // End: relayed once; ending again is a no-op.
    let (answer, command) =
        tokio::join!(world.call(cookie, "DELETE", &path, None), gateway.accept());
    assert_eq!(answer.0, 204);
    assert_eq!(command["type"], "session.end");
    assert_eq!(session_status(&world, &session_id).0, "ended");
    let (status, _) = world.call(cookie, "DELETE", &path, None).await;
    assert_eq!(status, 204);
    let (status, _) = world
        .call(cookie, "POST", &format!("{path}/attach"), None)
        .await;
    assert_eq!(status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_timeouts_and_a_missing_hub_never_leave_a_session_starting() {
    let mut world = World::new().await;
    let cookie = Some(world.cookie.clone());
    let cookie = cookie.as_deref();
    let sessions = format!("/vps/{}/sessions", world.vps.id);
    let mut gateway = world.gateway().await;
    world
        .wait_for_vps("connected", |d| d["gateway"]["connected"] == true)
        .await;

    // The gateway refuses: 502 with its error, the session `error`.
    let create = world.call(cookie, "POST", &sessions, Some(json!({"title": "a"})));
    let refuse =
        async {
            let command = gateway.json().await;
            gateway
            .send(json!({"type": "ack", "schema_version": "1", "request_id": command["request_id"],
                         "ok": false, "error": "too many sessions"}))
            .await;
        };
    let ((status, body), ()) = tokio::join!(create, refuse);
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many sessions")
    );
    let (_, list) = world.call(cookie, "GET", &sessions, None).await;
    let failed = list["sessions"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        session_status(&world, &failed),
        ("error".into(), Some("too many sessions".into()))
    );

    // The gateway never answers: 504 from the hub, the session `error`.
    let (status, body) = world
        .call(cookie, "POST", &sessions, Some(json!({"title": "b"})))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (504, Some("gateway_timeout"))
    );
    gateway.json().await;
    let (_, list) = world.call(cookie, "GET", &sessions, None).await;
    assert!(
        list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "error"),
        "{list}"
    );

    // The hub is down while the app still has the gateway connected: 503 with a message.
    world.stop_hub().await;
    let (status, body) = world
        .call(cookie, "POST", &sessions, Some(json!({"title": "c"})))
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["error"]["message"],
        "the terminal hub is unavailable; try again shortly"
    );
    let (_, list) = world.call(cookie, "GET", &sessions, None).await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 3);
    assert!(
        list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "error"),
        "{list}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_strangers_bad_bodies_and_foreign_ids() {
    let world = World::new().await;
    let mut gateway = world.gateway().await;
    world
        .wait_for_vps("connected", |d| d["gateway"]["connected"] == true)
        .await;
    let cookie = Some(world.cookie.as_str());
    let sessions = format!("/vps/{}/sessions", world.vps.id);
    let create = world.call(cookie, "POST", &sessions, Some(json!({"title": "mine"})));
    let ((status, session), _) = tokio::join!(create, gateway.accept());
    assert_eq!(status, 201);
    let path = format!("{sessions}/{}", session["id"].as_str().unwrap());
    let routes = [
        ("GET", sessions.clone()),
        ("POST", sessions.clone()),
        ("DELETE", path.clone()),
        ("GET", format!("{path}/snapshot")),
        ("POST", format!("{path}/attach")),
    ];

    for bad_cookie in [None, Some("chatcode_session=forged")] {
        for (method, route) in &routes {
            let (status, body) = world
                .call(bad_cookie, method, route, Some(json!({"title": "x"})))
                .await;
            assert_eq!(status, 401, "{method} {route}: {body}");
        }
    }
    let (mallory, _) = login(&world.app, "mallory").await;
    for (method, route) in &routes {
        // A foreign id is 404 whatever the body: nothing else is said about it.
        for sent in [json!({"title": "x"}), json!({"color": "red"})] {
            let (status, body) = world.call(Some(&mallory), method, route, Some(sent)).await;
            assert_eq!(status, 404, "{method} {route}: {body}");
        }
    }
    let unknown = format!("/vps/{}/sessions/ses-nosuchsession00000000", world.vps.id);
    for (method, route) in [
        ("DELETE", unknown.clone()),
        ("GET", format!("{unknown}/snapshot")),
    ] {
        let (status, _) = world.call(cookie, method, &route, None).await;
        assert_eq!(status, 404, "{method} {route}");
    }

    for (body, status) in [
        (json!({}), 422),
        (json!({"title": "t", "agent_type": "clippy"}), 422),
        (json!({"title": "t", "workdir": "../etc"}), 422),
        (json!({"title": "t", "workdir": "/a/../b"}), 422),
        (json!({"title": "t", "env": {"1X": "y"}}), 422),
        (json!({"title": "t", "color": "red"}), 400),
        (
            json!({"title": "t", "env": {"BIG": "x".repeat(300 * 1024)}}),
            413,
        ),
    ] {
        let (got, answer) = world
            .call(cookie, "POST", &sessions, Some(body.clone()))
            .await;
        assert_eq!(got, status, "{body}: {answer}");
    }
    let (status, body) = world
        .call(
            cookie,
            "POST",
            &sessions,
            Some(json!({"title": "", "workdir": "rel"})),
        )
        .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["error"]["fields"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, ["title", "workdir"]);
    let (status, _) = world.call(cookie, "PUT", &sessions, None).await;
    assert_eq!(status, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_keys_agents_and_workspace_are_relayed_to_the_gateway() {
    use chatcode_gateway_sim::{GatewaySim, SimConfig};

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMV57bZ5WLTEuOCEpJ5WzWqn4EjHIPJUqGyhCLLpC+kK me@laptop";
    const FINGERPRINT: &str = "SHA256:Zxt/loA8yrz714LWI3n44xrJxdoeURDZNR5Wp45u/gY";

    let world = World::new().await;
    let sim = GatewaySim::start(SimConfig::new(
        format!("ws://{}/gw/connect", world.hub_addr),
        &world.vps.gateway_id,
        &world.vps.token,
    ));
    sim.wait_connected(std::time::Duration::from_secs(15))
        .await
        .unwrap();
    world
        .wait_for_vps("connected", |d| d["gateway"]["connected"] == true)
        .await;
    let cookie = Some(world.cookie.as_str());
    let keys = format!("/vps/{}/ssh-keys", world.vps.id);

    let (status, added) = world
        .call(
            cookie,
            "POST",
            &keys,
            Some(json!({"public_key": KEY, "label": "laptop"})),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["fingerprint"], FINGERPRINT);
    assert_eq!(added["keys"][0]["label"], "laptop");
    let db = rusqlite::Connection::open(world.data_dir().join("sqlite_db.db")).unwrap();
    let stored: String = db
        .query_row(
            "SELECT public_key FROM authorized_keys WHERE fingerprint = ?",
            [FINGERPRINT],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, KEY);
    let (status, listed) = world.call(cookie, "GET", &keys, None).await;
    assert_eq!(
        (status, listed["keys"][0]["fingerprint"].as_str()),
        (200, Some(FINGERPRINT))
    );

    for bad in [
        json!({"public_key": "ssh-dss AAAA", "label": "old"}),
        json!({"public_key": KEY, "label": ""}),
        json!({"public_key": KEY, "label": "x", "expires_at": "2001-01-01T00:00:00Z"}),
        json!({"public_key": KEY, "label": "x", "expires_at": "tomorrow"}),
    ] {
        let (status, body) = world.call(cookie, "POST", &keys, Some(bad.clone())).await;
        assert_eq!(status, 422, "{bad}: {body}");
    }

    let revoke = format!("{keys}?fingerprint={}", urlencoding::encode(FINGERPRINT));
    let (status, body) = world.call(cookie, "DELETE", &revoke, None).await;
    assert_eq!(status, 204, "{body}");
    let count: i64 = db
        .query_row("SELECT COUNT(*) FROM authorized_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 0);
    let (status, _) = world.call(cookie, "DELETE", &revoke, None).await;
    assert_eq!(status, 422, "the gateway has no such key any more");
    let (status, _) = world.call(cookie, "DELETE", &keys, None).await;
    assert_eq!(status, 400);

    let agents = format!("/vps/{}/agents", world.vps.id);
    let (status, installed) = world
        .call(
            cookie,
            "POST",
            &format!("{agents}/install"),
            Some(json!({"agent": "codex"})),
        )
        .await;
    assert_eq!(status, 200, "{installed}");
    assert_eq!(installed["agent"], "codex");
    let (status, _) = world
        .call(
            cookie,
            "POST",
            &format!("{agents}/install"),
            Some(json!({"agent": "clippy"})),
        )
        .await;
    assert_eq!(status, 422);
    let (status, listed) = world.call(cookie, "GET", &agents, None).await;
    assert_eq!(status, 200, "{listed}");
    assert!(listed["agents"].is_array());
    let (status, folders) = world
        .call(
            cookie,
            "GET",
            &format!("/vps/{}/workspace", world.vps.id),
            None,
        )
        .await;
    assert_eq!(status, 200, "{folders}");
    assert!(folders["folders"].is_array());

    let (mallory, _) = login(&world.app, "mallory").await;
    for (method, path) in [
        ("GET", keys.clone()),
        ("POST", keys.clone()),
        ("DELETE", revoke.clone()),
        ("GET", agents.clone()),
        ("POST", format!("{agents}/install")),
        ("GET", format!("/vps/{}/workspace", world.vps.id)),
    ] {
        let (status, _) = world
            .call(
                Some(&mallory),
                method,
                &path,
                Some(json!({"agent": "codex"})),
            )
            .await;
        assert_eq!(status, 404, "{method} {path}");
    }
    sim.stop().await;
}
