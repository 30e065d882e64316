//! The regions and sizes a new VPS may use: DigitalOcean's `/v2/regions` and `/v2/sizes`,
//! narrowed to what is available together, and kept in key-value for an hour (they change
//! rarely, and every dashboard asks for them).

use chatcode_core::{ApiError, time::now_ms};
use serde::{Deserialize, Serialize};
use spin_sdk::sqlite::Connection;

use crate::{droplets::DoClient, kv};

/// The key-value key of the cached catalog.
const KEY: &str = "do_catalog";
/// How long the cached catalog is used.
const TTL_MS: i64 = 60 * 60 * 1000;

/// What the create form may offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Regions, by name.
    pub regions: Vec<RegionOption>,
    /// Sizes, cheapest first.
    pub sizes: Vec<SizeOption>,
}

/// A region and the sizes available in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionOption {
    /// Slug (`ams3`).
    pub slug: String,
    /// Display name (`Amsterdam 3`).
    pub name: String,
    /// Slugs of the sizes available here.
    pub sizes: Vec<String>,
}

/// A droplet size and where it is available.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeOption {
    /// Slug (`s-1vcpu-1gb`).
    pub slug: String,
    /// DigitalOcean's description (`Basic`).
    pub description: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory: u32,
    /// Disk in GB.
    pub disk: u32,
    /// Price per month in US dollars.
    pub price_monthly: f64,
    /// Slugs of the regions that offer it.
    pub regions: Vec<String>,
}

/// A `/v2/regions` entry (the fields read).
#[derive(Debug, Deserialize)]
pub struct Region {
    slug: String,
    name: String,
    #[serde(default)]
    available: bool,
    #[serde(default)]
    sizes: Vec<String>,
}

/// A `/v2/sizes` entry (the fields read).
#[derive(Debug, Deserialize)]
pub struct Size {
    slug: String,
    #[serde(default)]
    available: bool,
    #[serde(default)]
    description: Option<String>,
    vcpus: u32,
    memory: u32,
    disk: u32,
    price_monthly: f64,
    #[serde(default)]
    regions: Vec<String>,
}

#[derive(Deserialize)]
struct RegionPage {
    regions: Vec<Region>,
}

#[derive(Deserialize)]
struct SizePage {
    sizes: Vec<Size>,
}

/// The catalog, from the cache or else from DigitalOcean on behalf of `user_id` (409
/// `do_not_connected` if they have no connection).
pub async fn options(conn: &Connection, user_id: &str) -> Result<Options, ApiError> {
    let store = kv::store()?;
    let now = now_ms();
    if let Some(cached) = kv::get_fresh::<Options>(&store, KEY, now)? {
        return Ok(cached);
    }
    let mut client = DoClient::for_user(conn, user_id)?;
    let regions: RegionPage = client.get("/v2/regions?per_page=200").await?;
    let sizes: SizePage = client.get("/v2/sizes?per_page=200").await?;
    let options = narrow(regions.regions, sizes.sizes);
    kv::set_expiring(&store, KEY, &options, now + TTL_MS)?;
    Ok(options)
}

/// Available regions with their available sizes, and available sizes with their available
/// regions; a region or size left with no partner is dropped.
pub fn narrow(regions: Vec<Region>, sizes: Vec<Size>) -> Options {
    let regions: Vec<Region> = regions.into_iter().filter(|r| r.available).collect();
    let sizes: Vec<Size> = sizes.into_iter().filter(|s| s.available).collect();
    let sold = |size: &Size, region: &Region| {
        size.regions.contains(&region.slug) && region.sizes.contains(&size.slug)
    };
    let mut region_options: Vec<RegionOption> = regions
        .iter()
        .map(|region| RegionOption {
            slug: region.slug.clone(),
            name: region.name.clone(),
            sizes: sizes
                .iter()
                .filter(|size| sold(size, region))
                .map(|size| size.slug.clone())
                .collect(),
        })
        .filter(|region| !region.sizes.is_empty())
        .collect();
    region_options.sort_by(|a, b| a.name.cmp(&b.name));
    let mut size_options: Vec<SizeOption> = sizes
        .iter()
        .map(|size| SizeOption {
            slug: size.slug.clone(),
            description: size.description.clone().unwrap_or_default(),
            vcpus: size.vcpus,
            memory: size.memory,
            disk: size.disk,
            price_monthly: size.price_monthly,
            regions: regions
                .iter()
                .filter(|region| sold(size, region))
                .map(|region| region.slug.clone())
                .collect(),
        })
        .filter(|size| !size.regions.is_empty())
        .collect();
    size_options.sort_by(|a, b| a.price_monthly.total_cmp(&b.price_monthly));
    Options {
        regions: region_options,
        sizes: size_options,
    }
}

#[cfg(test)]
mod tests {
    use super::{Region, Size, narrow};

    fn region(slug: &str, name: &str, available: bool, sizes: &[&str]) -> Region {
        Region {
            slug: slug.into(),
            name: name.into(),
            available,
            sizes: sizes.iter().map(|s| (*s).into()).collect(),
        }
    }

    fn size(slug: &str, available: bool, price: f64, regions: &[&str]) -> Size {
        Size {
            slug: slug.into(),
            available,
            description: Some("Basic".into()),
            vcpus: 1,
            memory: 1024,
            disk: 25,
            price_monthly: price,
            regions: regions.iter().map(|s| (*s).into()).collect(),
        }
    }

    #[test]
    fn only_what_can_be_bought_together() {
        let options = narrow(
            vec![
                region("sfo3", "San Francisco 3", true, &["big", "small"]),
                region("ams3", "Amsterdam 3", true, &["small", "gone"]),
                region("nyc2", "New York 2", false, &["small"]),
                region("lon1", "London 1", true, &["big"]),
            ],
            vec![
                size("big", true, 48.0, &["sfo3"]),
                size("small", true, 6.0, &["sfo3", "ams3", "nyc2"]),
                size("gone", false, 4.0, &["ams3"]),
            ],
        );
        let regions: Vec<(&str, Vec<&str>)> = options
            .regions
            .iter()
            .map(|r| {
                (
                    r.slug.as_str(),
                    r.sizes.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            regions,
            vec![("ams3", vec!["small"]), ("sfo3", vec!["big", "small"])]
        );
        let sizes: Vec<(&str, Vec<&str>)> = options
            .sizes
            .iter()
            .map(|s| {
                (
                    s.slug.as_str(),
                    s.regions.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            sizes,
            vec![("small", vec!["sfo3", "ams3"]), ("big", vec!["sfo3"])]
        );
    }
}
