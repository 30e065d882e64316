//! The regions, sizes and images the DigitalOcean fake knows, their JSON, and the
//! `GET /v2/regions` and `GET /v2/sizes` lists.

use std::collections::HashMap;

use axum::{
    extract::{Query, State},
    response::Response,
};
use serde_json::{Value, json};

use super::{paging, state::DoState};

/// `GET /v2/regions[?page=&per_page=]`.
pub(crate) async fn regions(
    State(state): State<DoState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let all = REGIONS.iter().map(|(slug, _)| region_json(slug)).collect();
    paging::answer(&state.0.base_url, "/v2/regions", &q, &[], "regions", all)
}

/// `GET /v2/sizes[?page=&per_page=]`.
pub(crate) async fn sizes(
    State(state): State<DoState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let all = SIZES.iter().map(size_json).collect();
    paging::answer(&state.0.base_url, "/v2/sizes", &q, &[], "sizes", all)
}

/// A droplet size (`/v2/sizes` entry).
#[derive(Debug)]
pub(crate) struct Size {
    pub slug: &'static str,
    pub memory: u32,
    pub vcpus: u32,
    pub disk: u32,
    pub transfer: f64,
    pub price_monthly: f64,
    pub price_hourly: f64,
}

/// A public image.
#[derive(Debug)]
pub(crate) struct Image {
    pub id: u64,
    pub slug: &'static str,
    pub name: &'static str,
    pub distribution: &'static str,
}

/// A region: slug and display name.
pub(crate) const REGIONS: &[(&str, &str)] = &[
    ("nyc1", "New York 1"),
    ("nyc3", "New York 3"),
    ("sfo3", "San Francisco 3"),
    ("ams3", "Amsterdam 3"),
    ("fra1", "Frankfurt 1"),
    ("lon1", "London 1"),
    ("sgp1", "Singapore 1"),
    ("tor1", "Toronto 1"),
    ("blr1", "Bangalore 1"),
    ("syd1", "Sydney 1"),
];

pub(crate) const SIZES: &[Size] = &[
    size("s-1vcpu-512mb-10gb", 512, 1, 10, 0.5, 4.0),
    size("s-1vcpu-1gb", 1024, 1, 25, 1.0, 6.0),
    size("s-1vcpu-2gb", 2048, 1, 50, 2.0, 12.0),
    size("s-2vcpu-2gb", 2048, 2, 60, 3.0, 18.0),
    size("s-2vcpu-4gb", 4096, 2, 80, 4.0, 24.0),
    size("s-4vcpu-8gb", 8192, 4, 160, 5.0, 48.0),
    size("s-8vcpu-16gb", 16_384, 8, 320, 6.0, 96.0),
];

const fn size(
    slug: &'static str,
    memory: u32,
    vcpus: u32,
    disk: u32,
    transfer: f64,
    price: f64,
) -> Size {
    Size {
        slug,
        memory,
        vcpus,
        disk,
        transfer,
        price_monthly: price,
        price_hourly: price / 672.0,
    }
}

pub(crate) const IMAGES: &[Image] = &[
    Image {
        id: 164_163_042,
        slug: "ubuntu-24-04-x64",
        name: "24.04 (LTS) x64",
        distribution: "Ubuntu",
    },
    Image {
        id: 129_211_873,
        slug: "ubuntu-22-04-x64",
        name: "22.04 (LTS) x64",
        distribution: "Ubuntu",
    },
    Image {
        id: 139_228_401,
        slug: "debian-12-x64",
        name: "12 x64",
        distribution: "Debian",
    },
    Image {
        id: 150_325_283,
        slug: "fedora-40-x64",
        name: "40 x64",
        distribution: "Fedora",
    },
];

pub(crate) fn region(slug: &str) -> Option<&'static (&'static str, &'static str)> {
    REGIONS.iter().find(|(s, _)| *s == slug)
}

pub(crate) fn size_by_slug(slug: &str) -> Option<&'static Size> {
    SIZES.iter().find(|s| s.slug == slug)
}

/// By slug, or by numeric id given as a number or a string of digits.
pub(crate) fn image(reference: &Value) -> Option<&'static Image> {
    match reference {
        Value::String(s) => IMAGES
            .iter()
            .find(|i| i.slug == s || s.parse::<u64>().is_ok_and(|id| id == i.id)),
        Value::Number(n) => n.as_u64().and_then(|id| IMAGES.iter().find(|i| i.id == id)),
        _ => None,
    }
}

fn region_slugs() -> Vec<&'static str> {
    REGIONS.iter().map(|(s, _)| *s).collect()
}

pub(crate) fn size_json(size: &Size) -> Value {
    json!({
        "slug": size.slug,
        "memory": size.memory,
        "vcpus": size.vcpus,
        "disk": size.disk,
        "transfer": size.transfer,
        "price_monthly": size.price_monthly,
        "price_hourly": size.price_hourly,
        "regions": region_slugs(),
        "available": true,
        "description": "Basic",
    })
}

pub(crate) fn image_json(image: &Image) -> Value {
    json!({
        "id": image.id,
        "name": image.name,
        "distribution": image.distribution,
        "slug": image.slug,
        "public": true,
        "regions": region_slugs(),
        "created_at": "2024-04-24T00:00:00Z",
        "type": "base",
        "min_disk_size": 10,
        "size_gigabytes": 2.36,
        "description": "",
        "tags": [],
        "status": "available",
        "error_message": "",
    })
}

pub(crate) fn region_json(slug: &str) -> Value {
    let name = region(slug).map_or(slug, |(_, n)| n);
    json!({
        "name": name,
        "slug": slug,
        "features": ["backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"],
        "available": true,
        "sizes": SIZES.iter().map(|s| s.slug).collect::<Vec<_>>(),
    })
}
