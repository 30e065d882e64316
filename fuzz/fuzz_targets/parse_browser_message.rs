//! Any text parses to a browser message or an error; a parsed message round-trips, and the
//! command the hub would forward for it passes the command rules.

#![no_main]

use chatcode_core::protocol::{parse_browser_message, parse_to_browser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_to_browser(text);
    let Ok(message) = parse_browser_message(text) else {
        return;
    };
    assert_eq!(
        parse_browser_message(&message.to_json()),
        Ok(message.clone())
    );
    let session = message.session_id().map(str::to_string);
    if let Some(command) = message.into_command(|| "hub-1".to_string()) {
        assert_eq!(command.validate(), Ok(()));
        assert_eq!(command.session_id().map(str::to_string), session);
    }
});
