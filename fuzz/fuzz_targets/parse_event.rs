//! Any text parses to an event, an unknown type or an error, and a parsed event serializes to a
//! text that parses back to the same event.

#![no_main]

use chatcode_core::protocol::{Incoming, parse_event};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_event(text) {
        Ok(Incoming::Event(event)) => {
            let again = parse_event(&event.to_json());
            assert_eq!(again, Ok(Incoming::Event(event)));
        }
        Ok(Incoming::Unknown { type_name }) => assert!(type_name.len() <= 200),
        // Errors quote at most a clipped, escaped excerpt of the input.
        Err(err) => assert!(err.to_string().len() <= 2_000),
    }
});
