//! Account rules: what a username may be, and which settings a user may change to what.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Longest username (GitHub's limit, so GitHub logins always fit).
pub const MAX_USERNAME_LEN: usize = 39;

/// Checks a username: 1–39 ASCII letters, digits or single hyphens, neither
/// starting nor ending with a hyphen (GitHub's rules). Returns why not.
pub fn validate_username(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("must not be empty");
    }
    if name.len() > MAX_USERNAME_LEN {
        return Err("must be at most 39 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err("may contain only letters, digits and hyphens");
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        return Err("hyphens may not lead, trail or repeat");
    }
    Ok(())
}

/// Usernames to try, in order, for someone signing in with provider login
/// `login` and provider account id `account_id`: the login itself, then the
/// login cut to fit with `-<account_id>` appended. None fit if `login` breaks
/// the rules (a provider's data is input like any other).
pub fn username_candidates(login: &str, account_id: &str) -> Vec<String> {
    if validate_username(login).is_err() || !account_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Vec::new();
    }
    let suffix = format!("-{account_id}");
    // `login` is ASCII here, so byte offsets are character offsets.
    let keep = MAX_USERNAME_LEN
        .saturating_sub(suffix.len())
        .min(login.len());
    let stem = login[..keep].trim_end_matches('-');
    let with_id = format!("{stem}{suffix}");
    let mut candidates = vec![login.to_string()];
    if !stem.is_empty() && validate_username(&with_id).is_ok() {
        candidates.push(with_id);
    }
    candidates
}

/// Longest e-mail address (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// Largest low-balance threshold, in credits.
pub const MAX_THRESHOLD: i64 = 1_000_000_000_000;

/// `PATCH /api/account`: each field present is changed; `email: null` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountUpdate {
    /// A new username.
    #[serde(default)]
    pub username: Option<String>,
    /// A new contact e-mail address (`Some(None)`: clear it).
    #[serde(default, with = "double_option")]
    pub email: Option<Option<String>>,
    /// Warn when the credit balance falls below this.
    #[serde(default)]
    pub low_balance_threshold: Option<i64>,
}

impl AccountUpdate {
    /// Checks every field; the error names each bad one.
    pub fn validate(&self) -> Result<(), BTreeMap<String, String>> {
        let mut bad = BTreeMap::new();
        if let Some(username) = &self.username
            && let Err(why) = validate_username(username)
        {
            bad.insert("username".into(), format!("username {why}"));
        }
        if let Some(Some(email)) = &self.email
            && let Err(why) = validate_email(email)
        {
            bad.insert("email".into(), why.into());
        }
        if let Some(threshold) = self.low_balance_threshold
            && !(0..=MAX_THRESHOLD).contains(&threshold)
        {
            bad.insert(
                "low_balance_threshold".into(),
                format!("must be between 0 and {MAX_THRESHOLD}"),
            );
        }
        if self.username.is_none() && self.email.is_none() && self.low_balance_threshold.is_none() {
            bad.insert("body".into(), "name at least one field to change".into());
        }
        if bad.is_empty() { Ok(()) } else { Err(bad) }
    }
}

/// Serde for `Option<Option<T>>`: absent is `None`, `null` is `Some(None)`.
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(deserializer).map(Some)
    }
}

/// A plausible e-mail address: one `@` with something on both sides, a dot in the domain, no
/// spaces or control characters, at most 254 characters. Deliverability is the mail's business.
pub fn validate_email(email: &str) -> Result<(), &'static str> {
    if email.len() > MAX_EMAIL_LEN {
        return Err("email must be at most 254 characters");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("email must look like name@example.com");
    };
    let clean = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    if !clean(local) || !clean(domain) || local.contains('@') || !domain.contains('.') {
        return Err("email must look like name@example.com");
    }
    if domain.starts_with('.') || domain.ends_with('.') {
        return Err("email must look like name@example.com");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_name_every_bad_field() {
        let update: AccountUpdate = serde_json::from_str(
            r#"{"username": "-bad", "email": "nope", "low_balance_threshold": -1}"#,
        )
        .unwrap();
        let bad = update.validate().unwrap_err();
        assert_eq!(
            bad.keys().collect::<Vec<_>>(),
            ["email", "low_balance_threshold", "username"]
        );
        let clear: AccountUpdate = serde_json::from_str(r#"{"email": null}"#).unwrap();
        assert_eq!(clear.email, Some(None));
        assert_eq!(clear.validate(), Ok(()));
        let nothing: AccountUpdate = serde_json::from_str("{}").unwrap();
        assert!(nothing.validate().unwrap_err().contains_key("body"));
        assert!(serde_json::from_str::<AccountUpdate>(r#"{"credits": 5}"#).is_err());
    }

    #[test]
    fn emails_are_plausible() {
        assert_eq!(validate_email("ada@example.com"), Ok(()));
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@.com",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
        assert!(validate_email(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn usernames_follow_githubs_rules() {
        for ok in ["a", "alice", "Alice-Smith", "x1-2-3", &"a".repeat(39)] {
            assert_eq!(validate_username(ok), Ok(()), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "a b", "ä", "a_b", &"a".repeat(40)] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn username_candidates_fit_the_rules() {
        assert_eq!(
            username_candidates("octocat", "583231"),
            ["octocat", "octocat-583231"]
        );
        let long = "a".repeat(39);
        let candidates = username_candidates(&long, "12345");
        assert_eq!(candidates[1], format!("{}-12345", "a".repeat(33)));
        // Cutting must not leave a doubled hyphen.
        let hyphen = format!("{}-b", "a".repeat(32));
        for c in username_candidates(&hyphen, "12345") {
            assert_eq!(validate_username(&c), Ok(()), "{c}");
        }
        // Non-ASCII or otherwise invalid logins yield nothing, and never panic.
        assert!(username_candidates("jürgen", "1").is_empty());
        assert!(username_candidates("ok", "1/2").is_empty());
    }
}
