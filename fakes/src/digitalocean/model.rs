//! Droplets and actions as the fake keeps them, and their API JSON.

use std::{fmt, net::Ipv4Addr, str::FromStr};

use serde_json::{Value, json};

use super::catalog;
use crate::common::clock::rfc3339;

/// A droplet's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropletStatus {
    /// Accepted, still being built.
    New,
    /// Running.
    Active,
    /// Powered off.
    Off,
    /// Archived.
    Archive,
}

impl DropletStatus {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Active => "active",
            Self::Off => "off",
            Self::Archive => "archive",
        }
    }
}

impl fmt::Display for DropletStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DropletStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "new" => Ok(Self::New),
            "active" => Ok(Self::Active),
            "off" => Ok(Self::Off),
            "archive" => Ok(Self::Archive),
            other => Err(format!("unknown droplet status {other:?}")),
        }
    }
}

/// A droplet the fake holds, as tests read it back.
#[derive(Debug, Clone, PartialEq)]
pub struct Droplet {
    /// Droplet id.
    pub id: u64,
    /// Name (hostname).
    pub name: String,
    /// Current status.
    pub status: DropletStatus,
    /// Region slug.
    pub region: String,
    /// Size slug.
    pub size: String,
    /// Image slug.
    pub image: String,
    /// Tags, as given at creation.
    pub tags: Vec<String>,
    /// `user_data` exactly as received.
    pub user_data: Option<String>,
    /// SSH key ids or fingerprints, as received.
    pub ssh_keys: Vec<Value>,
    /// Block storage volume ids, as received.
    pub volumes: Vec<String>,
    /// `backups`, `ipv6`, `monitoring`, `with_droplet_agent` as received.
    pub backups: bool,
    /// IPv6 requested.
    pub ipv6: bool,
    /// Monitoring agent requested.
    pub monitoring: bool,
    /// Droplet agent requested (the API's default is true).
    pub with_droplet_agent: bool,
    /// VPC UUID (given, or the region's default).
    pub vpc_uuid: String,
    /// Public IPv4 address, once active.
    pub public_ipv4: Option<Ipv4Addr>,
    /// Creation time, Unix milliseconds on the fake's clock.
    pub created_at_ms: u64,
    /// Index of the owning account in the configuration.
    pub account: usize,
    /// The `create` action's id.
    pub create_action: u64,
}

impl Droplet {
    /// The droplet object of the API (`{"droplet": …}` holds this).
    pub(crate) fn to_json(&self) -> Value {
        let size = catalog::size_by_slug(&self.size);
        let image = catalog::IMAGES.iter().find(|i| i.slug == self.image);
        let mut features = vec!["private_networking"];
        if self.backups {
            features.push("backups");
        }
        if self.ipv6 {
            features.push("ipv6");
        }
        if self.monitoring {
            features.push("monitoring");
        }
        if self.with_droplet_agent {
            features.push("droplet_agent");
        }
        json!({
            "id": self.id,
            "name": self.name,
            "memory": size.map_or(0, |s| s.memory),
            "vcpus": size.map_or(0, |s| s.vcpus),
            "disk": size.map_or(0, |s| s.disk),
            "locked": false,
            "status": self.status.as_str(),
            "kernel": null,
            "created_at": rfc3339(self.created_at_ms / 1000),
            "features": features,
            "backup_ids": [],
            "next_backup_window": null,
            "snapshot_ids": [],
            "image": image.map_or(Value::Null, catalog::image_json),
            "volume_ids": self.volumes,
            "size": size.map_or(Value::Null, catalog::size_json),
            "size_slug": self.size,
            "networks": self.networks(),
            "region": catalog::region_json(&self.region),
            "tags": self.tags,
            "vpc_uuid": self.vpc_uuid,
        })
    }

    fn networks(&self) -> Value {
        let Some(public) = self.public_ipv4 else {
            return json!({ "v4": [], "v6": [] });
        };
        let [a, b, c, _] = public.octets();
        let low = self.id % 250 + 2;
        let v6 = if self.ipv6 {
            json!([{
                "ip_address": format!("2001:db8::{:x}", self.id),
                "netmask": 64,
                "gateway": "2001:db8::1",
                "type": "public",
            }])
        } else {
            json!([])
        };
        json!({
            "v4": [
                {
                    "ip_address": format!("10.108.0.{low}"),
                    "netmask": "255.255.240.0",
                    "gateway": "nil",
                    "type": "private",
                },
                {
                    "ip_address": public.to_string(),
                    "netmask": "255.255.255.0",
                    "gateway": format!("{a}.{b}.{c}.1"),
                    "type": "public",
                },
            ],
            "v6": v6,
        })
    }
}

/// An action on a droplet (`create`, `power_off`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Action id.
    pub id: u64,
    /// `in-progress`, `completed` or `errored`.
    pub status: String,
    /// `create`, `power_on`, `shutdown`, …
    pub kind: String,
    /// Start, Unix seconds on the fake's clock.
    pub started_at: u64,
    /// Completion, Unix seconds, once completed.
    pub completed_at: Option<u64>,
    /// The droplet's id.
    pub resource_id: u64,
    /// Region slug.
    pub region_slug: String,
}

impl Action {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "status": self.status,
            "type": self.kind,
            "started_at": rfc3339(self.started_at),
            "completed_at": self.completed_at.map(rfc3339),
            "resource_id": self.resource_id,
            "resource_type": "droplet",
            "region": catalog::region_json(&self.region_slug),
            "region_slug": self.region_slug,
        })
    }
}
