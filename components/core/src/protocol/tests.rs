//! Round trips and helpers of the JSON messages.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::samples::{self, SID};
use super::*;

#[test]
fn samples_cover_every_type() {
    let types = |names: Vec<&'static str>| names.into_iter().collect::<BTreeSet<_>>();
    let all = |names: &[&'static str]| names.iter().copied().collect::<BTreeSet<_>>();
    let commands = types(samples::commands().iter().map(Command::type_name).collect());
    assert_eq!(commands, all(Command::TYPES));
    let events = types(samples::events().iter().map(Event::type_name).collect());
    assert_eq!(events, all(Event::TYPES));
    let browser = types(
        samples::browser_messages()
            .iter()
            .map(BrowserMessage::type_name)
            .collect(),
    );
    assert_eq!(browser, all(BrowserMessage::TYPES));
    let hub = types(
        samples::hub_messages()
            .iter()
            .map(HubMessage::type_name)
            .collect(),
    );
    assert_eq!(hub, all(HubMessage::TYPES));
    assert_eq!(Command::TYPES.len(), 18);
    assert_eq!(Event::TYPES.len(), 16);
    // A browser tells the hub's own messages from gateway events by type alone.
    assert!(HubMessage::TYPES.iter().all(|t| !Event::TYPES.contains(t)));
}

#[test]
fn envelope_is_written() {
    for command in samples::commands() {
        let value: Value = serde_json::from_str(&command.to_json()).unwrap_or_default();
        assert_eq!(value["type"], command.type_name());
        assert_eq!(value["schema_version"], "1");
        assert_eq!(value["request_id"], command.request_id());
    }
    for event in samples::events() {
        let value = serde_json::to_value(&event).unwrap_or_default();
        assert_eq!(value["type"], event.type_name());
        assert_eq!(value["schema_version"], "1");
    }
    let skipped = serde_json::to_value(&samples::events()[9]).unwrap_or_default();
    assert_eq!(
        skipped,
        json!({"type": "session.snapshot", "schema_version": "1", "session_id": SID, "content": ""}),
        "unset options are left out"
    );
}

#[test]
fn commands_round_trip() {
    for command in samples::commands() {
        let json = command.to_json();
        assert_eq!(parse_command(&json), Ok(command.clone()), "{json}");
        assert_eq!(
            serde_json::from_str::<Command>(&json).ok(),
            Some(command.clone())
        );
        assert_eq!(command.validate(), Ok(()));
    }
}

#[test]
fn events_round_trip() {
    for event in samples::events() {
        let json = event.to_json();
        assert_eq!(
            parse_event(&json),
            Ok(Incoming::Event(event.clone())),
            "{json}"
        );
        assert_eq!(
            serde_json::from_str::<Event>(&json).ok(),
            Some(event.clone())
        );
        assert_eq!(
            parse_to_browser(&json),
            Ok(ToBrowser::Event(event)),
            "browsers read forwarded events"
        );
    }
}

#[test]
fn browser_and_hub_messages_round_trip() {
    for message in samples::browser_messages() {
        let json = message.to_json();
        assert_eq!(parse_browser_message(&json), Ok(message), "{json}");
    }
    for message in samples::hub_messages() {
        let json = message.to_json();
        assert_eq!(
            parse_to_browser(&json),
            Ok(ToBrowser::Hub(message)),
            "{json}"
        );
    }
}

#[test]
fn browser_messages_become_commands() {
    let mut counter = 0;
    let mut fresh = || {
        counter += 1;
        format!("hub-{counter}")
    };
    let mut commands = Vec::new();
    for message in samples::browser_messages() {
        let needs_write = message.needs_write();
        let session = message.session_id().map(str::to_string);
        let given = message.request_id().map(str::to_string);
        match message.into_command(&mut fresh) {
            Some(command) => {
                assert_eq!(command.session_id().map(str::to_string), session);
                if let Some(given) = given {
                    assert_eq!(command.request_id(), given);
                }
                assert_eq!(
                    needs_write,
                    matches!(
                        command,
                        Command::SessionInput(_) | Command::SessionResize(_)
                    )
                );
                assert_eq!(command.validate(), Ok(()));
                commands.push(command);
            }
            None => assert!(session.is_none() && !needs_write, "only ping stays"),
        }
    }
    let ids: Vec<_> = commands.iter().map(Command::request_id).collect();
    assert_eq!(ids, ["hub-1", "b-1", "b-2", "hub-2", "hub-3"]);
}

#[test]
fn helpers_name_request_and_session() {
    for event in samples::events() {
        let value = serde_json::to_value(&event).unwrap_or_default();
        assert_eq!(event.request_id(), value["request_id"].as_str(), "{value}");
        let session = match event {
            Event::GatewayHealth(_) => None,
            _ => value["session_id"].as_str(),
        };
        assert_eq!(event.session_id(), session, "{value}");
    }
    for command in samples::commands() {
        let value = serde_json::to_value(&command).unwrap_or_default();
        assert_eq!(command.session_id(), value["session_id"].as_str());
    }
}

#[test]
fn agent_names() {
    for agent in Agent::ALL {
        assert_eq!(Agent::from_name(agent.as_str()), Some(agent));
        assert_eq!(
            serde_json::to_value(agent).ok(),
            Some(json!(agent.as_str()))
        );
    }
    assert_eq!(Agent::default(), Agent::ClaudeCode);
    assert_eq!(Agent::from_name("vim"), None);
}

#[test]
fn hello_debug_hides_the_bootstrap_token() {
    let hello = samples::events()
        .into_iter()
        .find(|e| matches!(e, Event::GatewayHello(_)));
    let debug = format!("{hello:?}");
    assert!(
        debug.contains("redacted") && !debug.contains("\"boot\""),
        "{debug}"
    );
}

#[test]
fn data_helpers() {
    assert_eq!(encode_data(b"hi"), "aGk=");
    assert_eq!(decode_data("aGk="), Some(b"hi".to_vec()));
    assert_eq!(decode_data("aGk"), None);
    assert_eq!(decode_data("a-_="), None);
    assert!(is_valid_session_id(SID));
    assert!(!is_valid_session_id(""));
    assert!(!is_valid_session_id("ses-é"));
}
