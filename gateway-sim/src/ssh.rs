//! Authorized SSH keys: parsing an OpenSSH public key line and its `SHA256:` fingerprint, as
//! `ssh-keygen -l` prints it.

use chatcode_core::{protocol::SshKey, ssh::PublicKeyError};

use crate::clock;

/// Why a public key line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KeyError {
    /// Not `<algorithm> <base64> [comment]`.
    #[error("public key is not \"<algorithm> <base64> [comment]\"")]
    Malformed,
    /// The algorithm is not one the gateway accepts.
    #[error("unsupported key algorithm")]
    Algorithm,
    /// The blob is not base64, or does not start with its own algorithm name.
    #[error("public key blob is invalid")]
    Blob,
    /// `expires_at` is not an RFC 3339 timestamp.
    #[error("expires_at is not an RFC 3339 timestamp")]
    Expiry,
    /// No key has the fingerprint to revoke.
    #[error("no authorized key has that fingerprint")]
    NotFound,
}

/// The authorized keys, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AuthorizedKeys {
    keys: Vec<SshKey>,
}

impl AuthorizedKeys {
    /// Adds a key, or relabels it when its fingerprint is already there.
    pub(crate) fn authorize(
        &mut self,
        public_key: &str,
        label: &str,
        expires_at: Option<&str>,
    ) -> Result<(), KeyError> {
        let (algorithm, fingerprint) = parse_public_key(public_key)?;
        if expires_at.is_some_and(|at| chatcode_core::time::parse_rfc3339_ms(at).is_none()) {
            return Err(KeyError::Expiry);
        }
        let key = SshKey {
            fingerprint,
            label: label.to_string(),
            algorithm,
            added_at: clock::now_rfc3339(),
            expires_at: expires_at.map(str::to_string),
        };
        match self
            .keys
            .iter_mut()
            .find(|k| k.fingerprint == key.fingerprint)
        {
            Some(existing) => {
                existing.label = key.label;
                existing.expires_at = key.expires_at;
            }
            None => self.keys.push(key),
        }
        Ok(())
    }

    /// Removes the key with `fingerprint`.
    pub(crate) fn revoke(&mut self, fingerprint: &str) -> Result<(), KeyError> {
        let before = self.keys.len();
        self.keys.retain(|k| k.fingerprint != fingerprint);
        if self.keys.len() == before {
            return Err(KeyError::NotFound);
        }
        Ok(())
    }

    /// The keys not yet expired; expired ones are dropped, as the gateway's sweep would.
    pub(crate) fn list(&mut self) -> Vec<SshKey> {
        let now = chatcode_core::time::now_ms();
        self.keys.retain(|k| {
            k.expires_at
                .as_deref()
                .and_then(chatcode_core::time::parse_rfc3339_ms)
                .is_none_or(|at| at > now)
        });
        self.keys.clone()
    }
}

/// The algorithm and `SHA256:` fingerprint of an OpenSSH public key line.
pub(crate) fn parse_public_key(line: &str) -> Result<(String, String), KeyError> {
    let key = chatcode_core::ssh::parse_public_key(line).map_err(|e| match e {
        PublicKeyError::Malformed => KeyError::Malformed,
        PublicKeyError::Algorithm => KeyError::Algorithm,
        PublicKeyError::Blob => KeyError::Blob,
    })?;
    Ok((key.algorithm, key.fingerprint))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made with `ssh-keygen -t ed25519`; `ssh-keygen -lf` printed the fingerprint.
    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMV57bZ5WLTEuOCEpJ5WzWqn4EjHIPJUqGyhCLLpC+kK test@sim";
    const ED25519_FP: &str = "SHA256:Zxt/loA8yrz714LWI3n44xrJxdoeURDZNR5Wp45u/gY";
    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCZGDsppzjOLY1ySjWHEbuhB6V24NG55Qo0P3AMQx+NUFiZqWmKoktD5EMpbuu1puKPV/E0vM+mYpPMut9lVvit5nmyfTlzC8w0h1d3o3a9vYwgQUVrf2hkWdKbgDDZ+h0wvJ81ss2HZJ11qCgcVAQyfhJ9UDm53mmfsMvoGatMcw== rsa";
    const RSA_FP: &str = "SHA256:LFCgDpq+ZiWRTguxBHrmo82zo/6eNPhD1FAP9K7aUgI";

    #[test]
    fn fingerprints_match_ssh_keygen() {
        assert_eq!(
            parse_public_key(ED25519),
            Ok(("ssh-ed25519".into(), ED25519_FP.into()))
        );
        assert_eq!(parse_public_key(RSA), Ok(("ssh-rsa".into(), RSA_FP.into())));
    }

    #[test]
    fn malformed_keys_are_refused() {
        let swapped = ED25519.replacen("ssh-ed25519", "ssh-rsa", 1);
        let cases = [
            ("", KeyError::Malformed),
            ("ssh-ed25519", KeyError::Malformed),
            ("ssh-dss AAAA", KeyError::Algorithm),
            ("ssh-ed25519 not*base64", KeyError::Blob),
            ("ssh-ed25519 AAAA", KeyError::Blob),
            ("ssh-ed25519 /////w==", KeyError::Blob),
            (swapped.as_str(), KeyError::Blob),
        ];
        for (line, error) in cases {
            assert_eq!(parse_public_key(line), Err(error), "{line:?}");
        }
    }

    #[test]
    fn authorize_relabel_revoke_expire() {
        let mut keys = AuthorizedKeys::default();
        assert_eq!(keys.authorize(ED25519, "laptop", None), Ok(()));
        assert_eq!(keys.authorize(ED25519, "desk", None), Ok(()));
        assert_eq!(
            keys.authorize(RSA, "old", Some("yesterday")),
            Err(KeyError::Expiry)
        );
        assert_eq!(
            keys.authorize(RSA, "old", Some("2001-01-01T00:00:00Z")),
            Ok(())
        );
        let listed = keys.list();
        assert_eq!(listed.len(), 1, "the expired key is gone: {listed:?}");
        assert_eq!(listed[0].label, "desk");
        assert_eq!(keys.revoke(RSA_FP), Err(KeyError::NotFound));
        assert_eq!(keys.revoke(ED25519_FP), Ok(()));
        assert!(keys.list().is_empty());
    }
}
