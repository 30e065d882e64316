//! Any string is refused as an attach ticket without a panic (a forgery would need the secret).

#![no_main]

use chatcode_core::ticket;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    assert!(ticket::verify(&text, "fuzz-secret", 1_750_000_000_000).is_err());
});
