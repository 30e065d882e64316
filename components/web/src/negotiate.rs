//! Content negotiation, as pure functions: which encoding an `Accept-Encoding` header allows
//! (RFC 9110 §12.5.3), and whether an `If-None-Match` header matches an entity tag (§13.1.2).

/// A representation the server holds of an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Brotli.
    Brotli,
    /// Gzip.
    Gzip,
    /// The bytes as they are.
    Identity,
}

impl Encoding {
    /// The token in `Accept-Encoding` and `Content-Encoding`.
    pub const fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
            Encoding::Identity => "identity",
        }
    }
}

/// The first of `available` (in the server's order of preference) that `accept_encoding`
/// allows with a non-zero weight. Identity is always acceptable unless refused outright
/// (`identity;q=0`, or `*;q=0` without naming it); with no header, only identity is chosen.
pub fn choose(accept_encoding: Option<&str>, available: &[Encoding]) -> Option<Encoding> {
    let Some(header) = accept_encoding else {
        return available.iter().copied().find(|e| *e == Encoding::Identity);
    };
    let weights: Vec<(String, f32)> = header
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let coding = parts.next()?.trim().to_ascii_lowercase();
            if coding.is_empty() {
                return None;
            }
            let weight = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((coding, weight))
        })
        .collect();
    let weight_of = |token: &str| {
        weights
            .iter()
            .find(|(c, _)| c == token || token == "gzip" && c == "x-gzip")
            .or_else(|| weights.iter().find(|(c, _)| c == "*"))
            .map(|(_, w)| *w)
    };
    available
        .iter()
        .copied()
        .find(|encoding| match (encoding, weight_of(encoding.token())) {
            (_, Some(weight)) => weight > 0.0,
            (Encoding::Identity, None) => true,
            (_, None) => false,
        })
}

/// Whether an `If-None-Match` header names one of `tags` (weak comparison: `W/` is ignored), or
/// is `*`.
pub fn none_match(if_none_match: Option<&str>, tags: &[&str]) -> bool {
    let Some(header) = if_none_match else {
        return false;
    };
    header.split(',').map(str::trim).any(|tag| {
        if tag == "*" {
            return true;
        }
        let opaque = tag.strip_prefix("W/").unwrap_or(tag);
        tags.contains(&opaque)
    })
}

#[cfg(test)]
mod tests {
    use super::{Encoding::*, choose, none_match};

    const ALL: [super::Encoding; 3] = [Brotli, Gzip, Identity];

    #[test]
    fn brotli_first_then_gzip_then_identity() {
        assert_eq!(choose(Some("gzip, deflate, br, zstd"), &ALL), Some(Brotli));
        assert_eq!(choose(Some("gzip, deflate"), &ALL), Some(Gzip));
        assert_eq!(choose(Some("x-gzip"), &ALL), Some(Gzip));
        assert_eq!(choose(Some("deflate"), &ALL), Some(Identity));
        assert_eq!(choose(None, &ALL), Some(Identity));
        assert_eq!(choose(Some(""), &ALL), Some(Identity));
    }

    #[test]
    fn weights_refuse_and_wildcards_allow() {
        assert_eq!(choose(Some("br;q=0, gzip;q=0.5"), &ALL), Some(Gzip));
        assert_eq!(choose(Some("br;q=0, gzip;q=0"), &ALL), Some(Identity));
        assert_eq!(choose(Some("*"), &ALL), Some(Brotli));
        assert_eq!(choose(Some("*;q=0"), &ALL), None);
        assert_eq!(choose(Some("*;q=0, identity"), &ALL), Some(Identity));
        assert_eq!(choose(Some("identity;q=0"), &[Identity]), None);
        assert_eq!(choose(Some("BR ; Q=1"), &ALL), Some(Brotli));
        assert_eq!(choose(Some("br;q=nonsense"), &ALL), Some(Brotli));
    }

    #[test]
    fn only_what_is_available() {
        assert_eq!(choose(Some("br"), &[Gzip, Identity]), Some(Identity));
        assert_eq!(choose(Some("br, gzip"), &[Identity]), Some(Identity));
    }

    #[test]
    fn entity_tags_match_weakly_and_by_wildcard() {
        let tags = ["\"abc\"", "\"abc-br\""];
        assert!(none_match(Some("\"abc\""), &tags));
        assert!(none_match(Some("W/\"abc-br\""), &tags));
        assert!(none_match(Some("\"x\", \"abc\""), &tags));
        assert!(none_match(Some("*"), &tags));
        assert!(!none_match(Some("\"abcd\""), &tags));
        assert!(!none_match(Some("abc"), &tags));
        assert!(!none_match(None, &tags));
    }
}
