//! Random strings for codes, tokens and request ids.

use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// `n` random bytes; falls back to a hash of time and a counter if the OS
/// source fails, so a request never panics for want of entropy.
fn bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    if getrandom::fill(&mut buf).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut seed = Sha256::new();
        seed.update(format!("{:?}", std::time::SystemTime::now()));
        seed.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        let mut block = seed.finalize().to_vec();
        for (i, b) in buf.iter_mut().enumerate() {
            if i % 32 == 0 && i > 0 {
                block = Sha256::digest(&block).to_vec();
            }
            *b = block[i % 32];
        }
    }
    buf
}

/// Lowercase hex of `n` random bytes (`2n` characters).
pub(crate) fn hex(n: usize) -> String {
    bytes(n).iter().map(|b| format!("{b:02x}")).collect()
}

/// `len` random ASCII letters and digits.
pub(crate) fn alphanumeric(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    bytes(len)
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// A random version-4-shaped UUID string.
pub(crate) fn uuid() -> String {
    let h = hex(16);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}
