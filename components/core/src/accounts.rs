//! Account rules: what a username may be.

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

#[cfg(test)]
mod tests {
    use super::*;

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
