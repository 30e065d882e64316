//! Prefixed random ids (`usr-…`, `vps-…`, `gw-…`, `ses-…`, `key-…`, …) as the original control
//! plane generated them: a kind prefix plus 21 URL-safe characters (nanoid's alphabet and size).

use std::fmt;

/// Number of random characters after the prefix.
pub const ID_RANDOM_LEN: usize = 21;

/// Longest string [`is_url_safe_id`] accepts.
pub const MAX_ID_LEN: usize = 128;

/// The 64 URL-safe characters ids are drawn from; 64 divides 256, so `byte & 63` is unbiased.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/// What an id names; decides its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// A user (`usr-`).
    User,
    /// A VPS / droplet record (`vps-`).
    Vps,
    /// A gateway daemon (`gw-`).
    Gateway,
    /// A terminal (tmux) session (`ses-`).
    Session,
    /// An authorized SSH key (`key-`).
    Key,
    /// A browser sign-in (`lgn-`), the id of a `persistent_sessions` row.
    Login,
    /// An API key (`akey-`), the id of an `api_keys` row.
    ApiKey,
    /// A usage event (`use-`), the id of a `usage_events` row.
    UsageEvent,
    /// A credit purchase (`pur-`), the id of a `purchases` row.
    Purchase,
    /// A credits ledger entry (`led-`), the id of a `credit_ledger` row.
    LedgerEntry,
}

impl IdKind {
    /// Every kind, for tests and tables.
    pub const ALL: [IdKind; 10] = [
        IdKind::User,
        IdKind::Vps,
        IdKind::Gateway,
        IdKind::Session,
        IdKind::Key,
        IdKind::Login,
        IdKind::ApiKey,
        IdKind::UsageEvent,
        IdKind::Purchase,
        IdKind::LedgerEntry,
    ];

    /// The prefix, dash included.
    pub const fn prefix(self) -> &'static str {
        match self {
            IdKind::User => "usr-",
            IdKind::Vps => "vps-",
            IdKind::Gateway => "gw-",
            IdKind::Session => "ses-",
            IdKind::Key => "key-",
            IdKind::Login => "lgn-",
            IdKind::ApiKey => "akey-",
            IdKind::UsageEvent => "use-",
            IdKind::Purchase => "pur-",
            IdKind::LedgerEntry => "led-",
        }
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix().trim_end_matches('-'))
    }
}

/// A new random id of `kind`, e.g. `vps-V1StGXR8_Z5jdHi6B-myT`.
///
/// # Panics
///
/// Only if the platform's random source fails (`wasi:random` on wasm32-wasip2), which leaves no
/// safe way to mint identifiers.
pub fn new_id(kind: IdKind) -> String {
    let mut random = [0u8; ID_RANDOM_LEN];
    getrandom::fill(&mut random).expect("system random source failed");
    let mut id = String::with_capacity(kind.prefix().len() + ID_RANDOM_LEN);
    id.push_str(kind.prefix());
    id.extend(
        random
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b & 63)])),
    );
    id
}

/// Whether `s` is exactly an id that [`new_id`] could have produced for `kind`.
pub fn is_valid_id(kind: IdKind, s: &str) -> bool {
    s.strip_prefix(kind.prefix())
        .is_some_and(|rest| rest.len() == ID_RANDOM_LEN && rest.bytes().all(is_url_safe_byte))
}

/// Whether `s` is non-empty, at most [`MAX_ID_LEN`] bytes, and only `[A-Za-z0-9_-]`.
///
/// Gateway ids arriving from a gateway (`X-Gateway-ID`) must pass this; it also admits
/// hand-made development ids such as `gw-dev`, which [`is_valid_id`] rejects.
pub fn is_url_safe_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_LEN && s.bytes().all(is_url_safe_byte)
}

fn is_url_safe_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn new_ids_have_prefix_and_length() {
        for kind in IdKind::ALL {
            let id = new_id(kind);
            assert!(id.starts_with(kind.prefix()), "{id}");
            assert_eq!(id.len(), kind.prefix().len() + ID_RANDOM_LEN);
            assert!(is_valid_id(kind, &id), "{id}");
            assert!(is_url_safe_id(&id), "{id}");
        }
    }

    #[test]
    fn prefixes_are_the_control_plane_ones() {
        let prefixes: Vec<_> = IdKind::ALL.iter().map(|k| k.prefix()).collect();
        assert_eq!(
            prefixes,
            [
                "usr-", "vps-", "gw-", "ses-", "key-", "lgn-", "akey-", "use-", "pur-", "led-"
            ]
        );
        assert_eq!(IdKind::Gateway.to_string(), "gw");
    }

    #[test]
    fn new_ids_are_distinct_and_use_the_whole_alphabet() {
        let ids: HashSet<_> = (0..2000).map(|_| new_id(IdKind::Session)).collect();
        assert_eq!(ids.len(), 2000);
        let seen: HashSet<u8> = ids.iter().flat_map(|id| id.bytes().skip(4)).collect();
        // 42,000 draws from 64 symbols: every symbol shows up.
        assert_eq!(seen.len(), 64);
    }

    #[test]
    fn validation_rejects_wrong_shapes() {
        let good = "gw-V1StGXR8_Z5jdHi6B-myT";
        assert!(is_valid_id(IdKind::Gateway, good));
        assert!(!is_valid_id(IdKind::Vps, good));
        assert!(!is_valid_id(IdKind::Gateway, "gw-V1StGXR8_Z5jdHi6B-my"));
        assert!(!is_valid_id(IdKind::Gateway, "gw-V1StGXR8_Z5jdHi6B-myTT"));
        assert!(!is_valid_id(IdKind::Gateway, "gw-V1StGXR8_Z5jdHi6B-my!"));
        assert!(!is_valid_id(IdKind::Gateway, "gw-V1StGXR8_Z5jdHi6B-myé"));
        assert!(!is_valid_id(IdKind::Gateway, ""));
        assert!(!is_valid_id(IdKind::Gateway, "GW-V1StGXR8_Z5jdHi6B-myT"));
    }

    #[test]
    fn url_safe_ids() {
        assert!(is_url_safe_id("gw-dev"));
        assert!(is_url_safe_id("A_z-09"));
        assert!(!is_url_safe_id(""));
        assert!(!is_url_safe_id("gw dev"));
        assert!(!is_url_safe_id("gw/dev"));
        assert!(!is_url_safe_id("gw.dev"));
        assert!(!is_url_safe_id("gw-dév"));
        assert!(is_url_safe_id(&"a".repeat(MAX_ID_LEN)));
        assert!(!is_url_safe_id(&"a".repeat(MAX_ID_LEN + 1)));
    }
}
