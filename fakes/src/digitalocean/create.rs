//! Validation of a `POST /v2/droplets` body, the way the API answers 422.

use serde_json::{Map, Value};

use super::catalog;

/// User data may not exceed 64 KiB.
const MAX_USER_DATA: usize = 64 * 1024;
/// `names` may hold up to ten names.
const MAX_NAMES: usize = 10;

/// A valid create request.
#[derive(Debug, Clone)]
pub(crate) struct CreateRequest {
    pub names: Vec<String>,
    /// True when the request used `names` (the answer is then `droplets`).
    pub multiple: bool,
    pub region: String,
    pub size: String,
    pub image: String,
    pub ssh_keys: Vec<Value>,
    pub backups: bool,
    pub ipv6: bool,
    pub monitoring: bool,
    pub with_droplet_agent: bool,
    pub tags: Vec<String>,
    pub user_data: Option<String>,
    pub vpc_uuid: Option<String>,
    pub volumes: Vec<String>,
}

/// Checks the body; `Err` holds the 422 message.
pub(crate) fn parse(body: &Value, default_region: &str) -> Result<CreateRequest, String> {
    let Value::Object(o) = body else {
        return Err("The request body must be a JSON object.".to_owned());
    };
    let (names, multiple) = names(o)?;
    let size = o
        .get("size")
        .and_then(Value::as_str)
        .ok_or("Size is required.")?;
    if catalog::size_by_slug(size).is_none() {
        return Err("You specified an invalid size for Droplet creation.".to_owned());
    }
    let image_ref = o
        .get("image")
        .filter(|v| !v.is_null())
        .ok_or("Image is required.")?;
    let image =
        catalog::image(image_ref).ok_or("You specified an invalid image for Droplet creation.")?;
    let region = match o.get("region") {
        None | Some(Value::Null) => default_region.to_owned(),
        Some(Value::String(r)) if catalog::region(r).is_some() => r.clone(),
        Some(_) => return Err("You specified an invalid region for Droplet creation.".to_owned()),
    };
    let user_data = optional_str(o, "user_data")?;
    if user_data.as_ref().is_some_and(|u| u.len() > MAX_USER_DATA) {
        return Err("User data may not exceed 64 KiB.".to_owned());
    }
    let tags = string_list(o, "tags")?;
    if let Some(bad) = tags.iter().find(|t| !valid_tag(t)) {
        return Err(format!(
            "Tag {bad:?} is invalid: tags may contain letters, numbers, colons, dashes and underscores, up to 255 characters."
        ));
    }
    let ssh_keys = match o.get("ssh_keys") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(keys)) if keys.iter().all(|k| k.is_string() || k.is_u64()) => {
            keys.clone()
        }
        Some(_) => return Err("ssh_keys must be an array of key ids or fingerprints.".to_owned()),
    };
    Ok(CreateRequest {
        names,
        multiple,
        region,
        size: size.to_owned(),
        image: image.slug.to_owned(),
        ssh_keys,
        backups: flag(o, "backups", false)?,
        ipv6: flag(o, "ipv6", false)?,
        monitoring: flag(o, "monitoring", false)?,
        with_droplet_agent: flag(o, "with_droplet_agent", true)?,
        tags,
        user_data,
        vpc_uuid: optional_str(o, "vpc_uuid")?,
        volumes: string_list(o, "volumes")?,
    })
}

fn names(o: &Map<String, Value>) -> Result<(Vec<String>, bool), String> {
    let list = match (o.get("name"), o.get("names")) {
        (Some(Value::String(n)), None) => return check_names(vec![n.clone()]).map(|n| (n, false)),
        (None, Some(Value::Array(list))) => list,
        (Some(_), Some(_)) => return Err("Specify either name or names, not both.".to_owned()),
        (None, None) => return Err("Name is required.".to_owned()),
        _ => return Err("Name must be a string; names must be an array of strings.".to_owned()),
    };
    if list.is_empty() || list.len() > MAX_NAMES {
        return Err("You may create between 1 and 10 Droplets at a time.".to_owned());
    }
    let names = list
        .iter()
        .map(|n| {
            n.as_str()
                .map(str::to_owned)
                .ok_or("Names must be strings.")
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_names(names).map(|n| (n, true))
}

fn check_names(names: Vec<String>) -> Result<Vec<String>, String> {
    for name in &names {
        let ok = !name.is_empty()
            && name.len() <= 255
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !ok {
            return Err(
                "Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)".to_owned(),
            );
        }
    }
    Ok(names)
}

fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 255
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'-' | b'_'))
}

fn flag(o: &Map<String, Value>, name: &str, default: bool) -> Result<bool, String> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{name} must be a boolean.")),
    }
}

fn optional_str(o: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{name} must be a string.")),
    }
}

fn string_list(o: &Map<String, Value>, name: &str) -> Result<Vec<String>, String> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{name} must be an array of strings."))
            })
            .collect(),
        Some(_) => Err(format!("{name} must be an array of strings.")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn accepts_the_minimal_body() {
        let r = parse(
            &json!({"name": "a", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}),
            "nyc3",
        );
        let r = r.expect("valid");
        assert_eq!(
            (r.region.as_str(), r.multiple, r.with_droplet_agent),
            ("nyc3", false, true)
        );
    }

    #[test]
    fn refuses_what_the_api_refuses() {
        let base = json!({"name": "a", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"});
        for (key, value) in [
            ("size", json!("huge")),
            ("image", json!("windows")),
            ("region", json!("mars1")),
            ("name", json!("bad name")),
            ("tags", json!(["has space"])),
            ("backups", json!("yes")),
            ("user_data", json!("x".repeat(MAX_USER_DATA + 1))),
        ] {
            let mut body = base.clone();
            body[key] = value;
            assert!(parse(&body, "nyc3").is_err(), "{key} should be refused");
        }
        let names: Vec<String> = (0..11).map(|i| format!("n{i}")).collect();
        assert!(
            parse(
                &json!({"names": names, "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}),
                "nyc3"
            )
            .is_err()
        );
    }
}
