//! Third-party tokens at rest: AES-256-GCM under a key from a secret variable.
//!
//! A sealed value is `v1.` followed by unpadded base64url of a random 96-bit
//! nonce and the ciphertext with its tag. The caller names what the value is
//! (for example `do_access_token:usr-…`) as associated data, so a ciphertext
//! copied into another row or column does not decrypt.

use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use base64::Engine as _;

const PREFIX: &str = "v1.";
const NONCE_BYTES: usize = 12;

/// Why a key or a sealed value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The key is not base64 of exactly 32 bytes.
    #[error("token_encryption_key must be base64 of 32 bytes")]
    BadKey,
    /// The value is not of the sealed form.
    #[error("sealed value is malformed")]
    Malformed,
    /// Wrong key, wrong context, or tampered data.
    #[error("sealed value does not decrypt")]
    Decrypt,
}

/// Seals and opens values with one key.
#[derive(Clone)]
pub struct TokenCipher {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher(..)")
    }
}

impl TokenCipher {
    /// A cipher from the base64 (standard or URL-safe) of a 32-byte key.
    pub fn from_base64_key(key: &str) -> Result<Self, CryptoError> {
        let key = key.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(key))
            .map_err(|_| CryptoError::BadKey)?;
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| CryptoError::BadKey)?;
        Ok(Self { cipher })
    }

    /// Encrypts `plaintext`, bound to `context`.
    ///
    /// # Panics
    ///
    /// Only if the platform's random source fails.
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).expect("system random source failed");
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: context.as_bytes(),
        };
        // Encryption only fails for inputs beyond GCM's 64 GiB limit.
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .expect("plaintext within AES-GCM limits");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
        )
    }

    /// Decrypts a value made by [`TokenCipher::seal`] with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, CryptoError> {
        let encoded = sealed.strip_prefix(PREFIX).ok_or(CryptoError::Malformed)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| CryptoError::Malformed)?;
        if bytes.len() <= NONCE_BYTES {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let payload = Payload {
            msg: ciphertext,
            aad: context.as_bytes(),
        };
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn round_trips_and_hides_the_plaintext() {
        let cipher = TokenCipher::from_base64_key(KEY).unwrap();
        let sealed = cipher.seal("dop_v1_secret", "do_access_token:usr-1");
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("secret"));
        assert_ne!(
            sealed,
            cipher.seal("dop_v1_secret", "do_access_token:usr-1")
        );
        assert_eq!(
            cipher.open(&sealed, "do_access_token:usr-1").unwrap(),
            "dop_v1_secret"
        );
    }

    #[test]
    fn refuses_other_contexts_keys_and_tampering() {
        let cipher = TokenCipher::from_base64_key(KEY).unwrap();
        let sealed = cipher.seal("t", "a");
        assert_eq!(cipher.open(&sealed, "b"), Err(CryptoError::Decrypt));
        let other = TokenCipher::from_base64_key(
            &base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
        )
        .unwrap();
        assert_eq!(other.open(&sealed, "a"), Err(CryptoError::Decrypt));
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            cipher
                .open(&String::from_utf8(tampered).unwrap(), "a")
                .is_err()
        );
        assert_eq!(cipher.open("plain", "a"), Err(CryptoError::Malformed));
        assert_eq!(cipher.open("v1.!!", "a"), Err(CryptoError::Malformed));
        assert_eq!(cipher.open("v1.AAAA", "a"), Err(CryptoError::Malformed));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(TokenCipher::from_base64_key("short").is_err());
        assert!(
            TokenCipher::from_base64_key(
                &base64::engine::general_purpose::STANDARD.encode([1u8; 16])
            )
            .is_err()
        );
        assert!(
            TokenCipher::from_base64_key(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([1u8; 32])
            )
            .is_ok()
        );
    }
}
