//! Any bytes decode to a frame or an error, and a decoded frame encodes back to the same bytes.

#![no_main]

use chatcode_core::protocol::frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = frame::decode(data) {
        assert_eq!(decoded.encode().as_deref(), Ok(data));
        assert!(data.len() <= frame::MAX_FRAME_BYTES);
    }
});
