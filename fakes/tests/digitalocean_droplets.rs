//! Droplet endpoints of the DigitalOcean fake (create, get, list, delete) over real HTTP.

pub mod common;

use std::{net::Ipv4Addr, time::Duration};

use chatcode_fakes::digitalocean::{self, DoConfig, DoEndpoint, DropletStatus};
use common::{
    client,
    digitalocean::{TOKEN, api_error, config, create, get, minimal},
    header,
};
use serde_json::{Value, json};

#[test]
fn creating_a_droplet_answers_202_with_the_documented_shape() {
    let (server, handle) = digitalocean::spawn(config());
    let url = server.url();
    let mut body = minimal("web-1");
    body["tags"] = json!(["chatcode", "user:42"]);
    body["user_data"] = json!("#cloud-config\nruncmd:\n  - touch /ok\n");
    body["ssh_keys"] = json!([289_794, "3b:16:e4:bf:8b:00:8b:b8:59:8c:a9:d3:f0:19:fa:45"]);
    body["ipv6"] = json!(true);
    body["monitoring"] = json!(true);
    let response = create(&url, &body);
    assert_eq!(response.status(), 202);
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        header(&response, "ratelimit-limit").as_deref(),
        Some("5000")
    );
    assert_eq!(
        header(&response, "ratelimit-remaining").as_deref(),
        Some("4999")
    );
    let body: Value = response.json().expect("JSON");
    let d = &body["droplet"];
    let id = d["id"].as_u64().expect("an integer id");
    assert_eq!(d["name"], "web-1");
    assert_eq!(d["status"], "new");
    assert_eq!(d["locked"], false);
    assert_eq!(
        (
            d["memory"].as_u64(),
            d["vcpus"].as_u64(),
            d["disk"].as_u64()
        ),
        (Some(1024), Some(1), Some(25))
    );
    assert_eq!(d["size_slug"], "s-1vcpu-1gb");
    assert_eq!(d["size"]["slug"], "s-1vcpu-1gb");
    assert_eq!(d["image"]["slug"], "ubuntu-24-04-x64");
    assert!(d["image"]["id"].is_u64());
    assert_eq!(d["region"]["slug"], "nyc3");
    assert_eq!(d["networks"], json!({ "v4": [], "v6": [] }));
    assert_eq!(d["tags"], json!(["chatcode", "user:42"]));
    assert!(
        d["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 20)
    );
    assert!(
        d["features"]
            .as_array()
            .is_some_and(|f| f.contains(&json!("ipv6")) && f.contains(&json!("monitoring")))
    );
    for key in ["backup_ids", "snapshot_ids", "volume_ids"] {
        assert!(d[key].is_array(), "{key}");
    }
    assert!(d["vpc_uuid"].is_string());
    let link = &body["links"]["actions"][0];
    assert_eq!(link["rel"], "create");
    let action_id = link["id"].as_u64().expect("an action id");
    assert_eq!(link["href"], format!("{url}/v2/actions/{action_id}"));
    let stored = handle.droplet(id).expect("stored");
    assert_eq!(
        stored.user_data.as_deref(),
        Some("#cloud-config\nruncmd:\n  - touch /ok\n")
    );
    assert_eq!(stored.ssh_keys.len(), 2);
    let sent = handle.traffic().requests_to(DoEndpoint::CreateDroplet);
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(sent[0].json().expect("JSON body")["name"], "web-1");
    let action: Value = get(&url, &format!("/v2/actions/{action_id}"))
        .json()
        .expect("JSON");
    assert_eq!(action["action"]["type"], "create");
    assert_eq!(action["action"]["status"], "in-progress");
}

#[test]
fn invalid_create_requests_are_unprocessable() {
    let (server, handle) = digitalocean::spawn(config());
    let url = server.url();
    let mut cases = vec![
        json!({ "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64" }),
        json!({ "name": "a", "image": "ubuntu-24-04-x64" }),
        json!({ "name": "a", "size": "s-1vcpu-1gb" }),
        json!({ "name": "a", "size": "s-64vcpu-huge", "image": "ubuntu-24-04-x64" }),
        json!({ "name": "a", "size": "s-1vcpu-1gb", "image": "windows-11" }),
        json!({ "name": "a", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "region": "mars1" }),
        json!({ "name": "not a hostname", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64" }),
        json!({ "names": (0..11).map(|i| format!("n{i}")).collect::<Vec<_>>(), "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64" }),
    ];
    let mut big = minimal("a");
    big["user_data"] = json!("x".repeat(64 * 1024 + 1));
    cases.push(big);
    for case in cases {
        api_error(create(&url, &case), 422, "unprocessable_entity");
    }
    assert!(handle.droplets().is_empty());
    let response = client()
        .post(format!("{url}/v2/droplets"))
        .bearer_auth(TOKEN)
        .body("{not json")
        .send()
        .expect("post");
    api_error(response, 400, "bad_request");
}

#[test]
fn names_create_several_droplets() {
    let (server, handle) = digitalocean::spawn(config());
    let body = json!({ "names": ["sub-01", "sub-02"], "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64" });
    let response = create(&server.url(), &body);
    assert_eq!(response.status(), 202);
    let body: Value = response.json().expect("JSON");
    assert_eq!(body["droplets"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["links"]["actions"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        body["droplets"][1]["region"]["slug"], "nyc3",
        "the default region"
    );
    assert_eq!(handle.droplets().len(), 2);
}

#[test]
fn the_droplet_limit_is_enforced() {
    let (server, _) = digitalocean::spawn(DoConfig {
        droplet_limit: 1,
        ..config()
    });
    assert_eq!(create(&server.url(), &minimal("one")).status(), 202);
    api_error(
        create(&server.url(), &minimal("two")),
        422,
        "unprocessable_entity",
    );
}

#[test]
fn get_shows_a_droplet_and_404s_the_rest() {
    let (server, handle) = digitalocean::spawn(config());
    let url = server.url();
    let id = create(&url, &minimal("a")).json::<Value>().expect("JSON")["droplet"]["id"]
        .as_u64()
        .expect("id");
    let response = get(&url, &format!("/v2/droplets/{id}"));
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().expect("JSON")["droplet"]["id"], id);
    let message = api_error(get(&url, "/v2/droplets/999"), 404, "not_found");
    assert_eq!(
        message,
        "The resource you were accessing could not be found."
    );
    api_error(get(&url, "/v2/droplets/abc"), 404, "not_found");

    assert!(handle.set_status(id, DropletStatus::Active));
    let d = get(&url, &format!("/v2/droplets/{id}"))
        .json::<Value>()
        .expect("JSON")["droplet"]
        .clone();
    assert_eq!(d["status"], "active");
    let public: Vec<&Value> = d["networks"]["v4"]
        .as_array()
        .expect("v4")
        .iter()
        .filter(|n| n["type"] == "public")
        .collect();
    assert_eq!(public.len(), 1);
    assert!(
        public[0]["ip_address"]
            .as_str()
            .is_some_and(|ip| ip.parse::<Ipv4Addr>().is_ok())
    );
    assert!(handle.set_public_ipv4(id, Ipv4Addr::LOCALHOST));
    let d = get(&url, &format!("/v2/droplets/{id}"))
        .json::<Value>()
        .expect("JSON")["droplet"]
        .clone();
    assert!(
        d["networks"]["v4"]
            .as_array()
            .expect("v4")
            .iter()
            .any(|n| n["ip_address"] == "127.0.0.1")
    );
}

#[test]
fn droplets_boot_after_the_configured_delay() {
    let (server, handle) = digitalocean::spawn(DoConfig {
        active_after: Some(Duration::from_secs(30)),
        public_ipv4: Some(Ipv4Addr::new(127, 0, 0, 1)),
        ..config()
    });
    let url = server.url();
    let body: Value = create(&url, &minimal("boot")).json().expect("JSON");
    let id = body["droplet"]["id"].as_u64().expect("id");
    let action = body["links"]["actions"][0]["id"].as_u64().expect("action");
    assert_eq!(
        get(&url, &format!("/v2/droplets/{id}"))
            .json::<Value>()
            .expect("JSON")["droplet"]["status"],
        "new"
    );
    handle.advance_clock(Duration::from_secs(31));
    let d = get(&url, &format!("/v2/droplets/{id}"))
        .json::<Value>()
        .expect("JSON")["droplet"]
        .clone();
    assert_eq!(d["status"], "active");
    assert!(
        d["networks"]["v4"]
            .as_array()
            .expect("v4")
            .iter()
            .any(|n| n["ip_address"] == "127.0.0.1" && n["type"] == "public")
    );
    let a: Value = get(&url, &format!("/v2/actions/{action}"))
        .json()
        .expect("JSON");
    assert_eq!(a["action"]["status"], "completed");
    assert!(a["action"]["completed_at"].is_string());
}

#[test]
fn listing_filters_by_tag_and_paginates() {
    let (server, _) = digitalocean::spawn(config());
    let url = server.url();
    for i in 0..3 {
        let mut body = minimal(&format!("t{i}"));
        body["tags"] = json!(["chatcode:user-1"]);
        assert_eq!(create(&url, &body).status(), 202);
    }
    assert_eq!(create(&url, &minimal("other")).status(), 202);
    let all: Value = get(&url, "/v2/droplets").json().expect("JSON");
    assert_eq!(all["meta"]["total"], 4);
    assert_eq!(all["links"], json!({}));
    let page1: Value = get(&url, "/v2/droplets?tag_name=chatcode:user-1&per_page=2")
        .json()
        .expect("JSON");
    assert_eq!(page1["meta"]["total"], 3);
    assert_eq!(page1["droplets"].as_array().map(Vec::len), Some(2));
    let next = page1["links"]["pages"]["next"]
        .as_str()
        .expect("a next link");
    assert!(
        next.contains("page=2")
            && next.contains("per_page=2")
            && next.contains("tag_name=chatcode%3Auser-1"),
        "{next}"
    );
    assert!(page1["links"]["pages"]["last"].is_string());
    let page2: Value = client()
        .get(next)
        .bearer_auth(TOKEN)
        .send()
        .expect("next page")
        .json()
        .expect("JSON");
    assert_eq!(page2["droplets"].as_array().map(Vec::len), Some(1));
    assert!(
        page2["links"]["pages"]["prev"].is_string() && page2["links"]["pages"]["first"].is_string()
    );
    assert!(page2["links"]["pages"].get("next").is_none());
}

#[test]
fn deleting_answers_204_without_a_body() {
    let (server, handle) = digitalocean::spawn(config());
    let url = server.url();
    let id = create(&url, &minimal("gone"))
        .json::<Value>()
        .expect("JSON")["droplet"]["id"]
        .as_u64()
        .expect("id");
    let delete = || {
        client()
            .delete(format!("{url}/v2/droplets/{id}"))
            .bearer_auth(TOKEN)
            .send()
            .expect("delete")
    };
    let response = delete();
    assert_eq!(response.status(), 204);
    assert!(response.headers().contains_key("ratelimit-remaining"));
    assert!(response.text().expect("body").is_empty());
    assert!(handle.droplet(id).is_none());
    api_error(get(&url, &format!("/v2/droplets/{id}")), 404, "not_found");
    api_error(delete(), 404, "not_found");
}
