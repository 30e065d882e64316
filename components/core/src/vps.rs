//! VPS rules: the lifecycle statuses, which power action each allows, and what a
//! `POST /vps` body may ask for.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// The image a VPS gets when the request names none.
pub const DEFAULT_IMAGE: &str = "ubuntu-24-04-x64";
/// Longest droplet name DigitalOcean accepts as a hostname label chain.
pub const MAX_NAME_LEN: usize = 63;
/// Most SSH keys one create request may attach.
pub const MAX_SSH_KEYS: usize = 10;
/// A VPS with no `gateway.hello` this long after creation has timed out.
pub const PROVISIONING_TIMEOUT_MS: i64 = 10 * 60 * 1000;

/// Where a VPS is in its life; the `vps.status` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VpsStatus {
    /// The droplet exists; its gateway has not said hello yet.
    Provisioning,
    /// Its gateway said hello; the machine is on.
    Active,
    /// A power-off was requested.
    PoweringOff,
    /// Powered off.
    Off,
    /// A power-on was requested.
    PoweringOn,
    /// No hello within [`PROVISIONING_TIMEOUT_MS`].
    ProvisioningTimeout,
    /// Being destroyed.
    Deleting,
    /// Something failed that needs the user's attention.
    Error,
}

impl VpsStatus {
    /// Every status, in the order of the schema's `CHECK`.
    pub const ALL: [VpsStatus; 8] = [
        VpsStatus::Provisioning,
        VpsStatus::Active,
        VpsStatus::PoweringOff,
        VpsStatus::Off,
        VpsStatus::PoweringOn,
        VpsStatus::ProvisioningTimeout,
        VpsStatus::Deleting,
        VpsStatus::Error,
    ];

    /// The column's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            VpsStatus::Provisioning => "provisioning",
            VpsStatus::Active => "active",
            VpsStatus::PoweringOff => "powering_off",
            VpsStatus::Off => "off",
            VpsStatus::PoweringOn => "powering_on",
            VpsStatus::ProvisioningTimeout => "provisioning_timeout",
            VpsStatus::Deleting => "deleting",
            VpsStatus::Error => "error",
        }
    }

    /// Parses the column's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// The status after a `gateway.hello`: a gateway that speaks runs on a machine that is on.
    pub const fn after_hello(self) -> Self {
        match self {
            VpsStatus::Provisioning
            | VpsStatus::ProvisioningTimeout
            | VpsStatus::PoweringOn
            | VpsStatus::Off
            | VpsStatus::Error => VpsStatus::Active,
            other => other,
        }
    }
}

impl fmt::Display for VpsStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A power action a user may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    /// `POST /vps/:id/power-off`.
    Off,
    /// `POST /vps/:id/power-on`.
    On,
}

impl PowerAction {
    /// DigitalOcean's action `type`.
    pub const fn do_type(self) -> &'static str {
        match self {
            PowerAction::Off => "power_off",
            PowerAction::On => "power_on",
        }
    }

    /// The status while the action runs.
    pub const fn pending(self) -> VpsStatus {
        match self {
            PowerAction::Off => VpsStatus::PoweringOff,
            PowerAction::On => VpsStatus::PoweringOn,
        }
    }

    /// The status once DigitalOcean reports the action completed.
    pub const fn done(self) -> VpsStatus {
        match self {
            PowerAction::Off => VpsStatus::Off,
            PowerAction::On => VpsStatus::Active,
        }
    }

    /// Whether a VPS in `status` may take this action; `Err` says why not.
    pub fn check(self, status: VpsStatus) -> Result<(), String> {
        let allowed = match self {
            PowerAction::Off => matches!(status, VpsStatus::Active | VpsStatus::PoweringOn),
            PowerAction::On => matches!(status, VpsStatus::Off | VpsStatus::PoweringOff),
        };
        if allowed {
            Ok(())
        } else {
            Err(format!(
                "a VPS that is {status} cannot be powered {}",
                match self {
                    PowerAction::Off => "off",
                    PowerAction::On => "on",
                }
            ))
        }
    }
}

/// The body of `POST /vps`, as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateVpsRequest {
    /// Region slug, e.g. `ams3`.
    pub region: Option<String>,
    /// Size slug, e.g. `s-1vcpu-1gb`.
    pub size: Option<String>,
    /// Image slug; [`DEFAULT_IMAGE`] when absent.
    pub image: Option<String>,
    /// Droplet name; derived from the VPS id when absent.
    pub name: Option<String>,
    /// DigitalOcean SSH key ids or fingerprints to install for root.
    pub ssh_keys: Option<Vec<String>>,
}

/// A validated `POST /vps` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVps {
    /// Region slug.
    pub region: String,
    /// Size slug.
    pub size: String,
    /// Image slug.
    pub image: String,
    /// The name the user chose, if any.
    pub name: Option<String>,
    /// SSH key ids or fingerprints.
    pub ssh_keys: Vec<String>,
}

/// Per-field problems, keyed by field name.
pub type FieldErrors = BTreeMap<String, String>;

impl CreateVpsRequest {
    /// Checks every field at once, so the client hears about all problems together.
    pub fn validate(self) -> Result<NewVps, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut field =
            |name: &str, value: Option<String>, rule: fn(&str) -> Result<(), &str>| match value {
                None => None,
                Some(value) => match rule(&value) {
                    Ok(()) => Some(value),
                    Err(why) => {
                        errors.insert(name.to_owned(), why.to_owned());
                        None
                    }
                },
            };
        let region = field("region", self.region, validate_region);
        let size = field("size", self.size, validate_slug);
        let image = field("image", self.image, validate_slug);
        let name = field("name", self.name, validate_name);
        let ssh_keys = self.ssh_keys.unwrap_or_default();
        if ssh_keys.len() > MAX_SSH_KEYS {
            errors.insert("ssh_keys".into(), format!("at most {MAX_SSH_KEYS} keys"));
        } else if let Some(bad) = ssh_keys.iter().find(|k| validate_ssh_key_ref(k).is_err()) {
            errors.insert(
                "ssh_keys".into(),
                format!("{bad:?} is not a DigitalOcean key id or fingerprint"),
            );
        }
        match (region, size) {
            (Some(region), Some(size)) if errors.is_empty() => Ok(NewVps {
                region,
                size,
                image: image.unwrap_or_else(|| DEFAULT_IMAGE.to_owned()),
                name,
                ssh_keys,
            }),
            (region, size) => {
                for (missing, name) in [(region.is_none(), "region"), (size.is_none(), "size")] {
                    if missing {
                        errors
                            .entry(name.into())
                            .or_insert_with(|| "is required".into());
                    }
                }
                Err(errors)
            }
        }
    }
}

/// A region slug: three lowercase letters and a digit (`nyc3`, `ams3`).
fn validate_region(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    if b.len() == 4 && b[..3].iter().all(u8::is_ascii_lowercase) && b[3].is_ascii_digit() {
        Ok(())
    } else {
        Err("must be a region slug such as nyc3 or ams3")
    }
}

/// A size or image slug: lowercase letters, digits, single hyphens and dots, ≤ 64 bytes.
fn validate_slug(s: &str) -> Result<(), &'static str> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
        && !s.contains("--");
    if ok {
        Ok(())
    } else {
        Err("must be a slug such as s-1vcpu-1gb or ubuntu-24-04-x64")
    }
}

/// A droplet name DigitalOcean accepts as a hostname: letters, digits, hyphens and dots,
/// starting and ending with a letter or digit, at most [`MAX_NAME_LEN`] bytes.
fn validate_name(s: &str) -> Result<(), &'static str> {
    let ok = !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
        && !s.contains("..");
    if ok {
        Ok(())
    } else {
        Err(
            "must be 1-63 letters, digits, hyphens or dots, starting and ending with a letter or digit",
        )
    }
}

/// An SSH key reference: a numeric id or an MD5 fingerprint (`aa:bb:…`, 16 pairs).
fn validate_ssh_key_ref(s: &str) -> Result<(), ()> {
    let numeric = !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    let fingerprint = s.len() == 47
        && s.split(':')
            .all(|pair| pair.len() == 2 && pair.bytes().all(|b| b.is_ascii_hexdigit()));
    if numeric || fingerprint {
        Ok(())
    } else {
        Err(())
    }
}

/// The droplet name for a VPS the user did not name: `chatcode-` and the id's first eight
/// letters or digits, lowercased (ids may hold `_`, which hostnames may not).
pub fn default_name(vps_id: &str) -> String {
    let suffix: String = vps_id
        .trim_start_matches("vps-")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    format!("chatcode-{suffix}")
}

/// The tag every chatcode droplet carries.
pub const FLEET_TAG: &str = "chatcode";

/// The tag that names one VPS's droplet, used to find it again after a lost answer.
pub fn vps_tag(vps_id: &str) -> String {
    format!("chatcode-vps-{vps_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(region: &str, size: &str) -> CreateVpsRequest {
        CreateVpsRequest {
            region: Some(region.into()),
            size: Some(size.into()),
            ..CreateVpsRequest::default()
        }
    }

    #[test]
    fn statuses_round_trip() {
        for status in VpsStatus::ALL {
            assert_eq!(VpsStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(VpsStatus::parse("running"), None);
    }

    #[test]
    fn hello_activates_waiting_machines_only() {
        assert_eq!(VpsStatus::Provisioning.after_hello(), VpsStatus::Active);
        assert_eq!(
            VpsStatus::ProvisioningTimeout.after_hello(),
            VpsStatus::Active
        );
        assert_eq!(VpsStatus::PoweringOn.after_hello(), VpsStatus::Active);
        assert_eq!(VpsStatus::PoweringOff.after_hello(), VpsStatus::PoweringOff);
        assert_eq!(VpsStatus::Deleting.after_hello(), VpsStatus::Deleting);
    }

    #[test]
    fn power_actions_follow_the_state() {
        assert!(PowerAction::Off.check(VpsStatus::Active).is_ok());
        assert!(PowerAction::Off.check(VpsStatus::Off).is_err());
        assert!(PowerAction::Off.check(VpsStatus::Provisioning).is_err());
        assert!(PowerAction::On.check(VpsStatus::Off).is_ok());
        assert!(PowerAction::On.check(VpsStatus::Active).is_err());
        assert_eq!(
            PowerAction::On.check(VpsStatus::Deleting).unwrap_err(),
            "a VPS that is deleting cannot be powered on"
        );
        assert_eq!(PowerAction::Off.do_type(), "power_off");
        assert_eq!(PowerAction::On.done(), VpsStatus::Active);
    }

    #[test]
    fn a_minimal_request_gets_defaults() {
        let vps = request("ams3", "s-1vcpu-1gb").validate().unwrap();
        assert_eq!(vps.image, DEFAULT_IMAGE);
        assert_eq!(vps.name, None);
        assert!(vps.ssh_keys.is_empty());
    }

    #[test]
    fn every_bad_field_is_reported() {
        let errors = CreateVpsRequest {
            region: Some("Amsterdam".into()),
            size: Some("s 1vcpu".into()),
            image: Some("-ubuntu".into()),
            name: Some("my_box".into()),
            ssh_keys: Some(vec!["not a key".into()]),
        }
        .validate()
        .unwrap_err();
        let fields: Vec<_> = errors.keys().map(String::as_str).collect();
        assert_eq!(fields, ["image", "name", "region", "size", "ssh_keys"]);
    }

    #[test]
    fn missing_required_fields_are_named() {
        let errors = CreateVpsRequest::default().validate().unwrap_err();
        assert_eq!(errors["region"], "is required");
        assert_eq!(errors["size"], "is required");
        let errors = CreateVpsRequest {
            size: Some("s-1vcpu-1gb".into()),
            name: Some("-bad".into()),
            ..CreateVpsRequest::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn names_follow_hostname_rules() {
        assert!(validate_name("web-1.example").is_ok());
        assert!(validate_name(&"a".repeat(63)).is_ok());
        assert!(validate_name(&"a".repeat(64)).is_err());
        assert!(validate_name("").is_err());
        assert!(validate_name("trailing-").is_err());
        assert!(validate_name("dots..dots").is_err());
        assert!(validate_name("ünïcode").is_err());
    }

    #[test]
    fn ssh_key_references() {
        assert!(validate_ssh_key_ref("512190").is_ok());
        assert!(validate_ssh_key_ref("3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa").is_ok());
        assert!(validate_ssh_key_ref("3b:16").is_err());
        assert!(validate_ssh_key_ref("").is_err());
        let too_many = CreateVpsRequest {
            ssh_keys: Some(vec!["1".into(); MAX_SSH_KEYS + 1]),
            ..request("nyc3", "s-1vcpu-1gb")
        };
        assert!(too_many.validate().unwrap_err().contains_key("ssh_keys"));
    }

    #[test]
    fn default_names_are_hostnames() {
        let name = default_name("vps-Ab_c-D1e2F3g4H5i6J7k8L");
        assert_eq!(name, "chatcode-abcd1e2f");
        assert!(validate_name(&name).is_ok());
        assert_eq!(vps_tag("vps-x"), "chatcode-vps-vps-x");
    }
}
