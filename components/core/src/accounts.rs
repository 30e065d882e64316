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
}
