//! The DigitalOcean fake's API v2 gate (auth, scopes, rate limits) and actions over real HTTP.

pub mod common;

use std::time::Duration;

use chatcode_fakes::digitalocean::{self, DoConfig, DoEndpoint, DropletStatus};
use common::{
    client,
    digitalocean::{TOKEN, api_error, config, create, get, minimal},
    header,
};
use serde_json::{Value, json};

#[test]
fn requests_without_a_valid_token_are_unauthorized() {
    let (server, handle) = digitalocean::spawn(config());
    let url = server.url();
    let message = api_error(
        client()
            .get(format!("{url}/v2/droplets"))
            .send()
            .expect("get"),
        401,
        "unauthorized",
    );
    assert_eq!(message, "Unable to authenticate you.");
    let response = client()
        .get(format!("{url}/v2/droplets"))
        .bearer_auth("nope")
        .send()
        .expect("get");
    api_error(response, 401, "unauthorized");
    assert_eq!(handle.traffic().calls(DoEndpoint::ListDroplets), 2);
}

#[test]
fn actions_answer_201_and_change_the_status() {
    let (server, handle) = digitalocean::spawn(config());
    let url = server.url();
    let id = create(&url, &minimal("act")).json::<Value>().expect("JSON")["droplet"]["id"]
        .as_u64()
        .expect("id");
    handle.set_status(id, DropletStatus::Active);
    let act = |kind: &str| {
        client()
            .post(format!("{url}/v2/droplets/{id}/actions"))
            .bearer_auth(TOKEN)
            .json(&json!({ "type": kind }))
            .send()
            .expect("action")
    };
    let response = act("power_off");
    assert_eq!(response.status(), 201);
    let a = response.json::<Value>().expect("JSON")["action"].clone();
    assert_eq!(a["status"], "in-progress");
    assert_eq!(a["type"], "power_off");
    assert_eq!(a["resource_id"], id);
    assert_eq!(a["resource_type"], "droplet");
    assert_eq!(a["region_slug"], "nyc3");
    assert!(a["started_at"].is_string() && a["completed_at"].is_null());
    assert_eq!(
        handle.droplet(id).map(|d| d.status),
        Some(DropletStatus::Off)
    );
    let done: Value = get(&url, &format!("/v2/actions/{}", a["id"]))
        .json()
        .expect("JSON");
    assert_eq!(done["action"]["status"], "completed");
    assert_eq!(act("power_on").status(), 201);
    assert_eq!(
        handle.droplet(id).map(|d| d.status),
        Some(DropletStatus::Active)
    );
    assert_eq!(act("shutdown").status(), 201);
    assert_eq!(
        handle.droplet(id).map(|d| d.status),
        Some(DropletStatus::Off)
    );
    api_error(act("explode"), 422, "unprocessable_entity");
    let missing = client()
        .post(format!("{url}/v2/droplets/4242/actions"))
        .bearer_auth(TOKEN)
        .json(&json!({ "type": "reboot" }))
        .send()
        .expect("action");
    api_error(missing, 404, "not_found");
}

#[test]
fn the_hourly_budget_ends_in_429_with_retry_after() {
    let (server, handle) = digitalocean::spawn(DoConfig {
        rate_limit: 2,
        ..config()
    });
    let url = server.url();
    let remaining: Vec<Option<String>> = (0..2)
        .map(|_| header(&get(&url, "/v2/droplets"), "ratelimit-remaining"))
        .collect();
    assert_eq!(remaining, vec![Some("1".to_owned()), Some("0".to_owned())]);
    let response = get(&url, "/v2/droplets");
    let retry_after: u64 = header(&response, "retry-after")
        .expect("retry-after")
        .parse()
        .expect("seconds");
    assert!((1..=3600).contains(&retry_after));
    let reset: u64 = header(&response, "ratelimit-reset")
        .expect("reset")
        .parse()
        .expect("epoch");
    assert!(reset > 1_700_000_000);
    assert_eq!(
        api_error(response, 429, "too_many_requests"),
        "API Rate limit exceeded."
    );
    handle.advance_clock(Duration::from_secs(3600));
    assert_eq!(get(&url, "/v2/droplets").status(), 200);
}

#[test]
fn read_only_tokens_cannot_write() {
    let cfg = config();
    let (server, handle) = digitalocean::spawn(cfg.clone());
    let tokens = handle
        .issue_token(&cfg.accounts[0].uuid, "read")
        .expect("an account");
    let response = client()
        .post(format!("{}/v2/droplets", server.url()))
        .bearer_auth(&tokens.access_token)
        .json(&minimal("x"))
        .send()
        .expect("post");
    api_error(response, 403, "forbidden");
    let response = client()
        .get(format!("{}/v2/droplets", server.url()))
        .bearer_auth(&tokens.access_token)
        .send()
        .expect("get");
    assert_eq!(response.status(), 200);
}

#[test]
fn the_account_endpoint_describes_the_token_owner() {
    let cfg = config();
    let (server, _) = digitalocean::spawn(cfg.clone());
    let body: Value = get(&server.url(), "/v2/account").json().expect("JSON");
    assert_eq!(body["account"]["uuid"], cfg.accounts[0].uuid.as_str());
    assert_eq!(body["account"]["email"], cfg.accounts[0].email.as_str());
    assert_eq!(body["account"]["status"], "active");
}

#[test]
fn unknown_paths_are_json_404s() {
    let (server, _) = digitalocean::spawn(config());
    let response = get(&server.url(), "/v2/nothing-here");
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().expect("JSON")["id"], "not_found");
}
