//! API keys: `cck_<lookup>_<secret>`. The 8-character lookup finds the row and is shown in
//! lists (`cck_<lookup>`); the 43-character secret (32 random bytes) is shown once. Only the
//! SHA-256 of the whole key is stored, and compared in constant time.

use subtle::ConstantTimeEq;

use crate::token::{random_urlsafe, sha256, sha256_hex};

/// What every key starts with, so a leaked one is recognisable (and scannable).
pub const SCHEME: &str = "cck_";
/// Characters of the lookup part.
const LOOKUP_LEN: usize = 8;
/// Random bytes of the secret part (43 characters of base64url).
const SECRET_BYTES: usize = 32;
/// Characters of the secret part.
const SECRET_LEN: usize = 43;
/// Longest key name.
pub const MAX_NAME_CHARS: usize = 64;

/// A key just made: the key to show once, and what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    /// The whole key (`cck_…`); never stored.
    pub key: String,
    /// `cck_` + the lookup part: stored, unique, shown in lists.
    pub prefix: String,
    /// Lowercase hex SHA-256 of the whole key.
    pub hash: String,
}

/// Makes a new key.
pub fn generate() -> NewKey {
    // The lookup draws from the same alphabet as the secret; a collision is refused by the
    // table's UNIQUE constraint and answered as a retryable error.
    let lookup: String = random_urlsafe(LOOKUP_LEN)
        .chars()
        .take(LOOKUP_LEN)
        .collect();
    let key = format!("{SCHEME}{lookup}_{}", random_urlsafe(SECRET_BYTES));
    NewKey {
        prefix: format!("{SCHEME}{lookup}"),
        hash: sha256_hex(key.as_bytes()),
        key,
    }
}

/// The stored prefix of `key` if it has the shape of one of ours, else `None`.
pub fn prefix_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(SCHEME)?;
    let (lookup, secret) = rest.split_at_checked(LOOKUP_LEN)?;
    let secret = secret.strip_prefix('_')?;
    let url_safe = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (url_safe(lookup) && secret.len() == SECRET_LEN && url_safe(secret))
        .then(|| &key[..SCHEME.len() + LOOKUP_LEN])
}

/// Whether `key` hashes to `stored_hash`, compared in constant time.
pub fn matches(key: &str, stored_hash: &str) -> bool {
    let computed = sha256_hex(key.as_bytes());
    bool::from(sha256(computed.as_bytes()).ct_eq(&sha256(stored_hash.as_bytes())))
}

/// A key's name, trimmed: 1 to 64 characters, no control characters.
pub fn validate_name(name: &str) -> Result<String, &'static str> {
    let name = name.trim();
    if name.is_empty() {
        return Err("name must not be empty");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err("name must be at most 64 characters");
    }
    if name.chars().any(char::is_control) {
        return Err("name must not contain control characters");
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_shaped_and_only_their_hash_matches() {
        let new = generate();
        assert!(new.key.starts_with("cck_"));
        assert_eq!(new.key.len(), 4 + 8 + 1 + 43);
        assert_eq!(prefix_of(&new.key), Some(new.prefix.as_str()));
        assert_eq!(new.prefix.len(), 12);
        assert!(!new.hash.contains(&new.key[13..]));
        assert!(matches(&new.key, &new.hash));
        let other = generate();
        assert_ne!(new.key, other.key);
        assert!(!matches(&other.key, &new.hash));
    }

    #[test]
    fn other_shapes_are_not_keys() {
        let key = generate().key;
        assert_eq!(prefix_of(&key[..key.len() - 1]), None);
        assert_eq!(prefix_of(&format!("{key}x")), None);
        assert_eq!(prefix_of(&key.replacen("cck_", "ccx_", 1)), None);
        assert_eq!(prefix_of("cck_"), None);
        assert_eq!(prefix_of("cck_abcdefgh"), None);
        assert_eq!(prefix_of("cck_abc€efgh_x"), None);
        assert_eq!(prefix_of("test-hub-secret"), None);
    }

    #[test]
    fn names_are_bounded() {
        assert_eq!(validate_name("  laptop  "), Ok("laptop".to_owned()));
        assert!(validate_name(" ").is_err());
        assert!(validate_name(&"x".repeat(65)).is_err());
        assert!(validate_name("a\nb").is_err());
        assert_eq!(
            validate_name(&"é".repeat(64)).map(|n| n.chars().count()),
            Ok(64)
        );
    }
}
