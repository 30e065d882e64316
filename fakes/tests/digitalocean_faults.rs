//! Fault injection and inspection on the DigitalOcean fake.

pub mod common;

use std::time::{Duration, Instant};

use chatcode_fakes::{
    Fault,
    digitalocean::{self, DoConfig, DoEndpoint},
};
use common::{client, header};
use serde_json::{Value, json};

const TOKEN: &str = "dop_v1_faulttoken";

fn setup() -> (chatcode_fakes::FakeServer, digitalocean::DoHandle) {
    digitalocean::spawn(DoConfig {
        static_tokens: vec![TOKEN.to_owned()],
        ..DoConfig::default()
    })
}

fn create(url: &str) -> reqwest::blocking::Response {
    let body = json!({ "name": "f", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64" });
    client()
        .post(format!("{url}/v2/droplets"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .expect("create")
}

#[test]
fn the_next_calls_fail_as_told_then_recover() {
    let (server, handle) = setup();
    let url = server.url();
    handle
        .traffic()
        .fail_next(DoEndpoint::CreateDroplet, 2, Fault::Status(500));
    for _ in 0..2 {
        let response = create(&url);
        assert_eq!(response.status(), 500);
        assert!(response.headers().contains_key("ratelimit-limit"));
        let body: Value = response.json().expect("JSON");
        assert_eq!(body["id"], "server_error");
        assert!(body["request_id"].is_string() && body["message"].is_string());
    }
    assert_eq!(create(&url).status(), 202);
    assert_eq!(handle.traffic().calls(DoEndpoint::CreateDroplet), 3);
    assert_eq!(handle.droplets().len(), 1, "failed calls create nothing");
}

#[test]
fn injected_401_and_429_look_like_the_real_ones() {
    let (server, handle) = setup();
    let url = server.url();
    handle
        .traffic()
        .fail_next(DoEndpoint::ListDroplets, 1, Fault::Status(401));
    handle.traffic().fail_next(
        DoEndpoint::ListDroplets,
        1,
        Fault::RateLimited { retry_after: 7 },
    );
    let list = || {
        client()
            .get(format!("{url}/v2/droplets"))
            .bearer_auth(TOKEN)
            .send()
            .expect("list")
    };
    let response = list();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().expect("JSON")["message"],
        "Unable to authenticate you."
    );
    let response = list();
    assert_eq!(response.status(), 429);
    assert_eq!(header(&response, "retry-after").as_deref(), Some("7"));
    assert_eq!(
        header(&response, "ratelimit-remaining").as_deref(),
        Some("0")
    );
    assert_eq!(
        response.json::<Value>().expect("JSON")["id"],
        "too_many_requests"
    );
    assert_eq!(list().status(), 200);
}

#[test]
fn a_hang_outlasts_the_client_timeout() {
    let (server, handle) = setup();
    let url = server.url();
    handle.traffic().fail_next(
        DoEndpoint::GetDroplet,
        1,
        Fault::Hang(Duration::from_millis(600)),
    );
    let impatient = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(150))
        .build()
        .expect("client");
    let started = Instant::now();
    let result = impatient
        .get(format!("{url}/v2/droplets/1"))
        .bearer_auth(TOKEN)
        .send();
    assert!(result.is_err_and(|e| e.is_timeout()));
    assert!(started.elapsed() < Duration::from_millis(600));
    let response = client()
        .get(format!("{url}/v2/droplets/1"))
        .bearer_auth(TOKEN)
        .send()
        .expect("get");
    assert_eq!(response.status(), 404);
}

#[test]
fn oauth_faults_use_oauth_errors() {
    let (server, handle) = setup();
    handle
        .traffic()
        .fail_next(DoEndpoint::Token, 1, Fault::Status(503));
    let response = client()
        .post(format!("{}/v1/oauth/token", server.url()))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .expect("token");
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.json::<Value>().expect("JSON")["error"],
        "temporarily_unavailable"
    );
    let recorded = handle.traffic().requests_to(DoEndpoint::Token);
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0].param("grant_type").as_deref(),
        Some("refresh_token")
    );
    handle.traffic().clear_requests();
    assert_eq!(handle.traffic().calls(DoEndpoint::Token), 0);
}

#[test]
fn dropping_the_server_stops_it() {
    let (server, _) = setup();
    let url = server.url();
    drop(server);
    assert!(client().get(format!("{url}/v2/droplets")).send().is_err());
}

#[tokio::test]
async fn starts_from_async_tests_too() {
    let (server, handle) = chatcode_fakes::start_digitalocean(DoConfig {
        static_tokens: vec![TOKEN.to_owned()],
        ..DoConfig::default()
    })
    .await
    .expect("start");
    let response = reqwest::Client::new()
        .get(format!("{}/v2/account", server.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("account");
    assert_eq!(response.status(), 200);
    assert_eq!(handle.traffic().calls(DoEndpoint::Account), 1);
}
