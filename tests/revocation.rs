//! Revocation reaches open terminals: signing out (one sign-in or all of them), revoking an
//! API key, ending a session, deleting a VPS and deleting the account each close the terminals
//! concerned, through the real app and hub, with their named close codes, and nobody else's.
//! Tickets for what was revoked are refused afterwards.

mod hub_support;

use std::time::Duration;

use hub_support::{Client, World, login};
use serde_json::{Value, json};

/// "Within a second", waited for generously: a loaded machine must not fail it.
const DEADLINE: Duration = Duration::from_secs(10);

/// Creates a session through the app (once it has the gateway connected); its id.
async fn create_session(world: &World, gateway: &mut Client) -> String {
    world
        .wait_for_vps("connected", |d| d["gateway"]["connected"] == true)
        .await;
    let path = format!("/vps/{}/sessions", world.vps.id);
    let create = world.call(
        Some(&world.cookie),
        "POST",
        &path,
        Some(json!({"title": "work"})),
    );
    let ((status, session), _) = tokio::join!(create, gateway.accept_until("session.create"));
    assert_eq!(status, 201, "{session}");
    session["id"].as_str().unwrap().to_owned()
}

/// A terminal opened the way the console opens one: a ticket from the app for `credential`
/// (a sign-in's cookie or an API key), then the URL it names. Returns the socket and the URL
/// (to try it again).
async fn open(
    world: &World,
    gateway: &mut Client,
    credential: &str,
    session_id: &str,
) -> (Client, String) {
    let path = format!("/vps/{}/sessions/{session_id}/attach", world.vps.id);
    let (status, attach) = world.call(Some(credential), "POST", &path, None).await;
    assert_eq!(status, 200, "{attach}");
    let url = attach["url"].as_str().unwrap().to_owned();
    let mut browser = Client::connect(&url).await.unwrap();
    gateway.accept_until("session.snapshot").await;
    browser.json_of("session.snapshot").await;
    (browser, url)
}

/// The close code `browser` gets, within the deadline.
async fn closed_in_time(browser: &mut Client) -> Option<u16> {
    tokio::time::timeout(DEADLINE, browser.closed())
        .await
        .expect("the terminal closed in time")
}

/// `browser` is still served: a ping is answered.
async fn still_open(browser: &mut Client) {
    browser
        .send(json!({"type": "ping", "schema_version": "1", "request_id": "alive"}))
        .await;
    assert_eq!(browser.json_of("pong").await["request_id"], "alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_closes_that_sign_ins_terminals_and_no_one_elses() {
    let world = World::new().await;
    let mut gateway = world.gateway().await;
    let session = create_session(&world, &mut gateway).await;
    let (other_cookie, _) = login(&world.app, "alice").await;
    let (mut mine, url) = open(&world, &mut gateway, &world.cookie, &session).await;
    let (mut theirs, _) = open(&world, &mut gateway, &other_cookie, &session).await;

    // Logging out one browser closes its terminal (4001) and leaves the other sign-in's.
    let (status, _) = world
        .call(Some(&world.cookie), "POST", "/api/auth/logout", None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(closed_in_time(&mut mine).await, Some(4001));
    still_open(&mut theirs).await;
    // Its ticket, still unexpired, no longer opens a terminal.
    assert_eq!(Client::connect(&url).await.err(), Some(401));

    // Logging out everywhere closes every terminal of the user.
    let (third_cookie, _) = login(&world.app, "alice").await;
    let (mut third, _) = open(&world, &mut gateway, &third_cookie, &session).await;
    let (status, _) = world
        .call(Some(&third_cookie), "POST", "/api/auth/logout-all", None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(closed_in_time(&mut theirs).await, Some(4001));
    assert_eq!(closed_in_time(&mut third).await, Some(4001));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_a_session_closes_its_terminals_and_deleting_a_vps_closes_everything() {
    let world = World::new().await;
    let mut gateway = world.gateway().await;
    let ending = create_session(&world, &mut gateway).await;
    let staying = create_session(&world, &mut gateway).await;
    let (mut on_ending, url) = open(&world, &mut gateway, &world.cookie, &ending).await;
    let (mut on_staying, _) = open(&world, &mut gateway, &world.cookie, &staying).await;

    // Ending a session (the gateway acks session.end) closes its terminal with 4002 only.
    let path = format!("/vps/{}/sessions/{ending}", world.vps.id);
    let end = world.call(Some(&world.cookie), "DELETE", &path, None);
    let ((status, _), _) = tokio::join!(end, gateway.accept_until("session.end"));
    assert_eq!(status, 204);
    assert_eq!(closed_in_time(&mut on_ending).await, Some(4002));
    still_open(&mut on_staying).await;
    assert_eq!(Client::connect(&url).await.err(), Some(401));

    // Deleting the VPS closes its terminals and its gateway's socket (4003), and the
    // gateway's credentials no longer open one.
    let path = format!("/vps/{}", world.vps.id);
    let (status, body) = world.call(Some(&world.cookie), "DELETE", &path, None).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(closed_in_time(&mut on_staying).await, Some(4003));
    assert_eq!(closed_in_time(&mut gateway).await, Some(4003));
    assert_eq!(
        Client::dial(world.hub_addr, &world.vps.gateway_id, &world.vps.token)
            .await
            .err(),
        Some(401)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_api_key_closes_its_terminals_and_deleting_the_account_closes_the_rest() {
    let world = World::new().await;
    let mut gateway = world.gateway().await;
    let session = create_session(&world, &mut gateway).await;
    let new_key = |name: &'static str| {
        world.call(
            Some(&world.cookie),
            "POST",
            "/api/account/api-key",
            Some(json!({ "name": name })),
        )
    };
    let (status, revoked) = new_key("laptop").await;
    assert_eq!(status, 201, "{revoked}");
    let (status, kept) = new_key("ci").await;
    assert_eq!(status, 201, "{kept}");
    let key = |created: &Value| created["key"].as_str().unwrap().to_owned();
    let (mut by_revoked, url) = open(&world, &mut gateway, &key(&revoked), &session).await;
    let (mut by_kept, _) = open(&world, &mut gateway, &key(&kept), &session).await;
    let (mut by_cookie, _) = open(&world, &mut gateway, &world.cookie, &session).await;

    // Revoking one key closes what it opened (4001), and only that.
    let path = format!("/api/account/api-keys/{}", revoked["id"].as_str().unwrap());
    let (status, _) = world.call(Some(&world.cookie), "DELETE", &path, None).await;
    assert_eq!(status, 204);
    assert_eq!(closed_in_time(&mut by_revoked).await, Some(4001));
    still_open(&mut by_kept).await;
    still_open(&mut by_cookie).await;
    assert_eq!(Client::connect(&url).await.err(), Some(401));

    // Deleting the account closes every terminal it had, whatever opened it, and the
    // gateway's socket.
    let (status, body) = world
        .call(
            Some(&world.cookie),
            "POST",
            "/api/account/delete",
            Some(json!({"confirm": "alice"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for terminal in [&mut by_kept, &mut by_cookie] {
        let code = closed_in_time(terminal).await;
        assert!(matches!(code, Some(4001 | 4003)), "{code:?}");
    }
    assert_eq!(closed_in_time(&mut gateway).await, Some(4003));
}
