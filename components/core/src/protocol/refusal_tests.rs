//! What the JSON parsers refuse or tolerate, and that no input makes them panic.

use serde_json::{Value, json};

use super::samples::{self, SID};
use super::*;

fn text(value: Value) -> String {
    value.to_string()
}

#[test]
fn unknown_event_types_are_reported_not_fatal() {
    let parsed = parse_event(r#"{"type":"gateway.telemetry","schema_version":"1","x":1}"#);
    assert_eq!(
        parsed,
        Ok(Incoming::Unknown {
            type_name: "gateway.telemetry".into()
        })
    );
    // A command type is not an event.
    let parsed = parse_event(&samples::commands()[4].to_json());
    assert!(matches!(parsed, Ok(Incoming::Unknown { .. })), "{parsed:?}");
    // A huge type name is cut before anyone logs it.
    let long = "t".repeat(10_000);
    let parsed = parse_event(&text(json!({"type": long, "schema_version": "1"})));
    let Ok(Incoming::Unknown { type_name }) = parsed else {
        panic!("{parsed:?}");
    };
    assert!(type_name.len() < 200);
    assert_eq!(
        parse_to_browser(r#"{"type":"new.thing","schema_version":"1"}"#),
        Ok(ToBrowser::Unknown {
            type_name: "new.thing".into()
        })
    );
}

#[test]
fn unknown_command_and_browser_types_are_errors() {
    let unknown = ProtocolError::UnknownType {
        type_name: "session.kill".into(),
    };
    let json = r#"{"type":"session.kill","schema_version":"1","request_id":"r"}"#;
    assert_eq!(parse_command(json), Err(unknown.clone()));
    assert_eq!(parse_browser_message(json), Err(unknown));
    // The gateway's commands a browser may not send.
    let end = samples::commands()[4].to_json();
    assert!(matches!(
        parse_browser_message(&end),
        Err(ProtocolError::UnknownType { .. })
    ));
    assert!(serde_json::from_str::<Event>(json).is_err());
}

#[test]
fn schema_version_is_checked() {
    let cases = [
        (json!({"type": "ack", "request_id": "r", "ok": true}), None),
        (
            json!({"type": "ack", "schema_version": 1, "request_id": "r", "ok": true}),
            None,
        ),
        (
            json!({"type": "ack", "schema_version": "2", "request_id": "r", "ok": true}),
            Some("2".to_string()),
        ),
        (
            json!({"type": "nope", "schema_version": "2"}),
            Some("2".to_string()),
        ),
    ];
    for (value, found) in cases {
        let expected = Some(ProtocolError::WrongSchemaVersion { found });
        let text = text(value);
        assert_eq!(parse_event(&text).err(), expected, "{text}");
        assert_eq!(parse_browser_message(&text).err(), expected);
        assert_eq!(parse_command(&text).err(), expected);
        assert_eq!(parse_to_browser(&text).err(), expected);
    }
    assert!(serde_json::from_str::<Command>(r#"{"type":"ssh.list","request_id":"r"}"#).is_err());
}

#[test]
fn size_limit() {
    let event = |content: String| {
        text(
            json!({"type": "session.snapshot", "schema_version": "1", "session_id": SID, "content": content}),
        )
    };
    let overhead = event(String::new()).len();
    let at_limit = event("x".repeat(MAX_TEXT_BYTES - overhead));
    assert_eq!(at_limit.len(), MAX_TEXT_BYTES);
    assert!(matches!(parse_event(&at_limit), Ok(Incoming::Event(_))));
    let over = event("x".repeat(MAX_TEXT_BYTES - overhead + 1));
    let len = over.len();
    assert_eq!(parse_event(&over), Err(ProtocolError::TooLarge { len }));
    assert_eq!(
        parse_browser_message(&over),
        Err(ProtocolError::TooLarge { len })
    );
    assert_eq!(parse_command(&over), Err(ProtocolError::TooLarge { len }));
    assert_eq!(
        parse_to_browser(&over),
        Err(ProtocolError::TooLarge { len })
    );
}

#[test]
fn envelope_errors() {
    for bad in ["", "{", "nul", "{\"type\":\"ack\",}", "\u{0}"] {
        assert_eq!(parse_event(bad), Err(ProtocolError::NotJson), "{bad:?}");
    }
    for bad in [
        "[]",
        "\"ack\"",
        "42",
        "null",
        "{}",
        r#"{"schema_version":"1"}"#,
        r#"{"type":7,"schema_version":"1"}"#,
        r#"{"type":null,"schema_version":"1"}"#,
    ] {
        assert_eq!(parse_event(bad), Err(ProtocolError::MissingType), "{bad}");
        assert_eq!(
            parse_browser_message(bad),
            Err(ProtocolError::MissingType),
            "{bad}"
        );
    }
}

#[test]
fn invalid_fields_name_the_type() {
    let parsed = parse_event(r#"{"type":"ack","schema_version":"1","request_id":"r"}"#);
    let Err(ProtocolError::Invalid { type_name, reason }) = parsed else {
        panic!("{parsed:?}");
    };
    assert_eq!(type_name, "ack");
    assert!(reason.contains("ok"), "{reason}");

    // A huge wrong value does not end up whole in the error.
    let huge = "9".repeat(100_000);
    let parsed = parse_event(&format!(
        r#"{{"type":"session.ended","schema_version":"1","session_id":"{huge}x","exit_code":"{huge}"}}"#
    ));
    let Err(err @ ProtocolError::Invalid { .. }) = parsed else {
        panic!("{parsed:?}");
    };
    assert!(err.to_string().len() < 400, "{err}");
}

#[test]
fn events_tolerate_a_newer_gateway() {
    let parsed = parse_event(&text(json!({
        "type": "session.started", "schema_version": "1", "request_id": "r",
        "session_id": SID, "pid": null, "tmux_socket": "/tmp/x", "extra": {"nested": [1, 2]}
    })));
    assert_eq!(
        parsed,
        Ok(Incoming::Event(Event::SessionStarted(SessionStarted {
            request_id: "r".into(),
            session_id: SID.into(),
            pid: None,
        })))
    );
    let parsed = parse_event(&text(json!({
        "type": "ssh.keys", "schema_version": "1", "request_id": "r", "keys": null
    })));
    assert_eq!(
        parsed,
        Ok(Incoming::Event(Event::SshKeys(SshKeys {
            request_id: "r".into(),
            keys: vec![],
        })))
    );
    // Required lists are still required.
    assert!(matches!(
        parse_event(r#"{"type":"agents.status","schema_version":"1","request_id":"r"}"#),
        Err(ProtocolError::Invalid { .. })
    ));
}

#[test]
fn browser_messages_are_checked() {
    let input = |extra: Value| {
        let mut value = json!({"type": "session.input", "schema_version": "1", "session_id": SID, "data": "aGk="});
        if let (Some(map), Value::Object(extra)) = (value.as_object_mut(), extra) {
            map.extend(extra);
        }
        parse_browser_message(&text(value))
    };
    assert!(input(json!({})).is_ok());
    assert!(input(json!({"request_id": "b-1"})).is_ok());
    let refused = [
        json!({"admin": true}),
        json!({"data": "not base64!"}),
        json!({"data": "aGk"}),
        json!({"session_id": ""}),
        json!({"session_id": "ses 1"}),
        json!({"session_id": "s".repeat(256)}),
        json!({"request_id": ""}),
        json!({"request_id": "r".repeat(129)}),
        json!({"data": 5}),
    ];
    for extra in refused {
        assert!(
            matches!(input(extra.clone()), Err(ProtocolError::Invalid { .. })),
            "{extra}"
        );
    }
    assert!(input(json!({"session_id": "s".repeat(255)})).is_ok());

    for (cols, rows) in [(0, 24), (80, 0), (70_000, 24), (-1, 24)] {
        let parsed = parse_browser_message(&text(json!({
            "type": "session.resize", "schema_version": "1", "session_id": SID, "cols": cols, "rows": rows
        })));
        assert!(
            matches!(parsed, Err(ProtocolError::Invalid { .. })),
            "{cols}x{rows}"
        );
    }
    let parsed = parse_browser_message(
        r#"{"type":"session.ack","schema_version":"1","session_id":"s","seq":-1}"#,
    );
    assert!(matches!(parsed, Err(ProtocolError::Invalid { .. })));
}

#[test]
fn command_validation() {
    let bad = [
        json!({"type": "ssh.list", "schema_version": "1", "request_id": ""}),
        json!({"type": "session.end", "schema_version": "1", "request_id": "r", "session_id": "a/b"}),
        json!({"type": "gateway.update", "schema_version": "1", "request_id": "r", "url": "u", "sha256": "abc", "version": "1"}),
        json!({"type": "file.upload.chunk", "schema_version": "1", "request_id": "r", "transfer_id": "t", "seq": 0, "data": "%%"}),
        json!({"type": "session.create", "schema_version": "1", "request_id": "r", "session_id": SID, "name": "n", "workdir": "/", "agent": "vim"}),
        json!({"type": "ssh.list", "schema_version": "1", "request_id": "r", "extra": 1}),
    ];
    for value in bad {
        assert!(
            matches!(
                parse_command(&text(value.clone())),
                Err(ProtocolError::Invalid { .. })
            ),
            "{value}"
        );
    }
}

#[test]
fn error_display() {
    let shown = [
        ProtocolError::TooLarge { len: 5 }.to_string(),
        ProtocolError::NotJson.to_string(),
        ProtocolError::MissingType.to_string(),
        ProtocolError::WrongSchemaVersion { found: None }.to_string(),
        ProtocolError::WrongSchemaVersion {
            found: Some("2".into()),
        }
        .to_string(),
        ProtocolError::UnknownType {
            type_name: "x".into(),
        }
        .to_string(),
        ProtocolError::invalid("ack", "missing field `ok`").to_string(),
    ];
    assert_eq!(shown[3], "unsupported schema_version (missing)");
    assert_eq!(shown[4], "unsupported schema_version \"2\"");
    assert_eq!(shown[6], "invalid ack: missing field `ok`");
    assert!(shown.iter().all(|s| !s.is_empty()));
}

/// xorshift64: deterministic noise for the never-panic loops.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn parse_all(text: &str) {
    let _ = parse_event(text);
    let _ = parse_command(text);
    let _ = parse_browser_message(text);
    let _ = parse_to_browser(text);
}

#[test]
fn parsing_noise_never_panics() {
    let mut noise = Noise(0x2545_F491_4F6C_DD1D);
    let pieces = [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "\\",
        "\"type\"",
        "\"schema_version\"",
        "\"1\"",
        "\"ack\"",
        "\"session.input\"",
        "\"session_id\"",
        "\"seq\"",
        "-1",
        "0",
        "1e999",
        "null",
        "true",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "é",
        " ",
        "18446744073709551616",
        "\"cols\"",
    ];
    for _ in 0..20_000 {
        let len = noise.below(24);
        let text: String = (0..len)
            .map(|_| pieces[noise.below(pieces.len())])
            .collect();
        parse_all(&text);
    }
}

#[test]
fn mutated_messages_never_panic() {
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut texts: Vec<String> = samples::commands().iter().map(Command::to_json).collect();
    texts.extend(samples::events().iter().map(Event::to_json));
    texts.extend(
        samples::browser_messages()
            .iter()
            .map(BrowserMessage::to_json),
    );
    for text in &texts {
        for end in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
            parse_all(&text[..end]);
        }
        for _ in 0..200 {
            let mut bytes = text.clone().into_bytes();
            let at = noise.below(bytes.len());
            let replacements = b"{}[]\",:0-9an\\ \xff";
            bytes[at] = replacements[noise.below(replacements.len())];
            parse_all(&String::from_utf8_lossy(&bytes));
        }
    }
    // Deep nesting stops at serde_json's recursion limit instead of the stack.
    parse_all(&"[".repeat(100_000));
    parse_all(&format!(
        r#"{{"type":"ack","schema_version":"1","request_id":{}}}"#,
        "[".repeat(50_000)
    ));
}
