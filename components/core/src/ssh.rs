//! OpenSSH public keys: which algorithms are accepted, and the `SHA256:` fingerprint of a key
//! line as `ssh-keygen -l` prints it.

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Key algorithms the gateway accepts.
pub const ALGORITHMS: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// Longest public key line accepted (RSA 16384 fits).
pub const MAX_KEY_LINE: usize = 16 * 1024;

/// Why a public key line was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PublicKeyError {
    /// Not `<algorithm> <base64> [comment]`, or too long.
    #[error("public key is not \"<algorithm> <base64> [comment]\"")]
    Malformed,
    /// The algorithm is not one of [`ALGORITHMS`].
    #[error("unsupported key algorithm")]
    Algorithm,
    /// The blob is not base64, or does not start with its own algorithm name.
    #[error("public key blob is invalid")]
    Blob,
}

/// A parsed public key line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Its algorithm, e.g. `ssh-ed25519`.
    pub algorithm: String,
    /// `SHA256:` and the unpadded base64 of the blob's SHA-256.
    pub fingerprint: String,
}

/// Parses an OpenSSH public key line.
pub fn parse_public_key(line: &str) -> Result<PublicKey, PublicKeyError> {
    if line.len() > MAX_KEY_LINE {
        return Err(PublicKeyError::Malformed);
    }
    let mut parts = line.split_whitespace();
    let (Some(algorithm), Some(blob)) = (parts.next(), parts.next()) else {
        return Err(PublicKeyError::Malformed);
    };
    if !ALGORITHMS.contains(&algorithm) {
        return Err(PublicKeyError::Algorithm);
    }
    let blob = base64::engine::general_purpose::STANDARD
        .decode(blob)
        .map_err(|_| PublicKeyError::Blob)?;
    let named = blob
        .split_first_chunk::<4>()
        .and_then(|(len, rest)| rest.get(..usize::try_from(u32::from_be_bytes(*len)).ok()?));
    if named != Some(algorithm.as_bytes()) {
        return Err(PublicKeyError::Blob);
    }
    let digest = Sha256::digest(&blob);
    Ok(PublicKey {
        algorithm: algorithm.to_owned(),
        fingerprint: format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMV57bZ5WLTEuOCEpJ5WzWqn4EjHIPJUqGyhCLLpC+kK test@sim";

    #[test]
    fn fingerprints_match_ssh_keygen() {
        let key = parse_public_key(ED25519).unwrap();
        assert_eq!(key.algorithm, "ssh-ed25519");
        assert_eq!(
            key.fingerprint,
            "SHA256:Zxt/loA8yrz714LWI3n44xrJxdoeURDZNR5Wp45u/gY"
        );
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert_eq!(parse_public_key(""), Err(PublicKeyError::Malformed));
        assert_eq!(
            parse_public_key("ssh-dss AAAA"),
            Err(PublicKeyError::Algorithm)
        );
        assert_eq!(
            parse_public_key("ssh-ed25519 !!!"),
            Err(PublicKeyError::Blob)
        );
        assert_eq!(
            parse_public_key(
                "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIMV57bZ5WLTEuOCEpJ5WzWqn4EjHIPJUqGyhCLLpC+kK"
            ),
            Err(PublicKeyError::Blob),
            "the blob names another algorithm"
        );
        assert_eq!(
            parse_public_key(&format!("ssh-ed25519 {}", "A".repeat(MAX_KEY_LINE))),
            Err(PublicKeyError::Malformed)
        );
    }
}
