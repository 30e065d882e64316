//! The DigitalOcean fake's regions and sizes (`GET /v2/regions`, `GET /v2/sizes`) over real
//! HTTP, in the documented shape, paged like every list.

pub mod common;

use chatcode_fakes::digitalocean;
use common::digitalocean::{config, get};
use serde_json::Value;

#[test]
fn regions_list_their_sizes_and_page() {
    let (server, _) = digitalocean::spawn(config());
    let url = server.url();
    let all: Value = get(&url, "/v2/regions?per_page=200").json().expect("JSON");
    let regions = all["regions"].as_array().expect("regions");
    let total = all["meta"]["total"].as_u64().expect("meta.total");
    assert_eq!(regions.len() as u64, total);
    let ams3 = regions
        .iter()
        .find(|r| r["slug"] == "ams3")
        .expect("ams3 is a region");
    assert_eq!(ams3["name"], "Amsterdam 3");
    assert_eq!(ams3["available"], true);
    assert!(ams3["features"].is_array());
    assert!(
        ams3["sizes"]
            .as_array()
            .expect("sizes")
            .iter()
            .any(|s| s == "s-1vcpu-1gb")
    );
    let first: Value = get(&url, "/v2/regions?per_page=3").json().expect("JSON");
    assert_eq!(first["regions"].as_array().map(Vec::len), Some(3));
    assert!(first["links"]["pages"]["next"].is_string());
}

#[test]
fn sizes_carry_prices_and_regions() {
    let (server, _) = digitalocean::spawn(config());
    let all: Value = get(&server.url(), "/v2/sizes").json().expect("JSON");
    let sizes = all["sizes"].as_array().expect("sizes");
    let small = sizes
        .iter()
        .find(|s| s["slug"] == "s-1vcpu-1gb")
        .expect("s-1vcpu-1gb");
    assert_eq!(small["memory"], 1024);
    assert_eq!(small["vcpus"], 1);
    assert_eq!(small["disk"], 25);
    assert_eq!(small["price_monthly"], 6.0);
    assert_eq!(small["available"], true);
    assert!(small["regions"].as_array().is_some_and(|r| !r.is_empty()));
}

#[test]
fn the_catalog_needs_a_token() {
    let (server, _) = digitalocean::spawn(config());
    let status = common::client()
        .get(format!("{}/v2/sizes", server.url()))
        .send()
        .expect("request")
        .status();
    assert_eq!(status, 401);
}
