//! The Rust types against the JSON Schemas in `protocol/`: every schema is valid, every type has
//! exactly one schema and every schema a type, every sample passes its schema, and the schemas
//! and the parsers refuse the same bad messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::samples::{self, SID};
use super::*;

/// Schema folders, the direction each describes, and the types Rust knows for it.
const FOLDERS: [(&str, &[&str]); 4] = [
    ("commands", Command::TYPES),
    ("events", Event::TYPES),
    ("browser", BrowserMessage::TYPES),
    ("hub", HubMessage::TYPES),
];

fn protocol_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../protocol")
}

/// Every `protocol/<folder>/<type>.json`, keyed by `(folder, type)`.
fn schemas() -> BTreeMap<(String, String), Value> {
    let mut found = BTreeMap::new();
    for (folder, _) in FOLDERS {
        let dir = protocol_dir().join(folder);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.map(|e| e.path()).unwrap_or_default();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let Some(type_name) = name.strip_suffix(".json") else {
                panic!("{} is not a schema", path.display());
            };
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let schema: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            found.insert((folder.to_string(), type_name.to_string()), schema);
        }
    }
    found
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("{e}: {schema}"))
}

fn check(folder: &str, instance: &Value) -> Result<(), Vec<String>> {
    let type_name = instance["type"].as_str().unwrap_or_default();
    let schemas = schemas();
    let Some(schema) = schemas.get(&(folder.to_string(), type_name.to_string())) else {
        panic!("no schema {folder}/{type_name}.json");
    };
    let validator = validator(schema);
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[test]
fn schemas_are_valid_draft_2020_12() {
    let schemas = schemas();
    assert_eq!(schemas.len(), 43);
    for ((folder, type_name), schema) in &schemas {
        let at = format!("{folder}/{type_name}.json");
        assert!(jsonschema::meta::validate(schema).is_ok(), "{at}");
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{at}"
        );
        assert_eq!(schema["type"], "object", "{at}");
        assert_eq!(
            schema["properties"]["type"],
            json!({"const": type_name}),
            "{at}"
        );
        assert_eq!(schema["properties"]["schema_version"]["const"], "1", "{at}");
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        assert!(required.contains(&json!("type")), "{at}");
        assert!(required.contains(&json!("schema_version")), "{at}");
        for name in &required {
            let name = name.as_str().unwrap_or_default();
            assert!(schema["properties"].get(name).is_some(), "{at}: {name}");
        }
        // What we send is closed; what a gateway sends may grow.
        let open = folder == "events";
        assert_eq!(schema["additionalProperties"], json!(open), "{at}");
        if folder == "commands" {
            assert!(required.contains(&json!("request_id")), "{at}");
        }
        if folder == "browser" {
            assert!(
                !required.contains(&json!("request_id")),
                "{at}: the hub adds it"
            );
        }
        validator(schema);
    }
}

#[test]
fn one_schema_per_type_and_one_type_per_schema() {
    let schemas = schemas();
    for (folder, types) in FOLDERS {
        let files: Vec<&str> = schemas
            .keys()
            .filter(|(f, _)| f == folder)
            .map(|(_, t)| t.as_str())
            .collect();
        let mut known: Vec<&str> = types.to_vec();
        known.sort_unstable();
        assert_eq!(files, known, "protocol/{folder}/ and the Rust enum differ");
    }
    let entries = std::fs::read_dir(protocol_dir())
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(
        entries,
        FOLDERS.len() + 1,
        "protocol/ holds the four folders and README.md"
    );
}

#[test]
fn readme_indexes_every_schema() {
    let readme = std::fs::read_to_string(protocol_dir().join("README.md")).unwrap_or_default();
    for (folder, type_name) in schemas().keys() {
        let link = format!("({folder}/{type_name}.json)");
        assert!(readme.contains(&link), "README.md does not link {link}");
    }
}

#[test]
fn every_sample_matches_its_schema() {
    let sets: [(&str, Vec<Value>); 4] = [
        (
            "commands",
            samples::commands().iter().map(json_of).collect(),
        ),
        ("events", samples::events().iter().map(json_of).collect()),
        (
            "browser",
            samples::browser_messages().iter().map(json_of).collect(),
        ),
        ("hub", samples::hub_messages().iter().map(json_of).collect()),
    ];
    for (folder, values) in sets {
        for value in values {
            assert_eq!(check(folder, &value), Ok(()), "{folder}: {value}");
        }
    }
}

fn json_of(message: &impl serde::Serialize) -> Value {
    serde_json::to_value(message).unwrap_or_default()
}

/// `base` with `changes` applied: a `null` change removes the field.
fn edit(base: &Value, changes: Value) -> Value {
    let mut value = base.clone();
    if let (Some(map), Value::Object(changes)) = (value.as_object_mut(), changes) {
        for (key, change) in changes {
            if change.is_null() {
                map.remove(&key);
            } else {
                map.insert(key, change);
            }
        }
    }
    value
}

/// What the Rust side makes of `value` sent in `folder`'s direction.
fn rust_accepts(folder: &str, value: &Value) -> bool {
    let text = value.to_string();
    match folder {
        "commands" => parse_command(&text).is_ok(),
        "events" => matches!(parse_event(&text), Ok(Incoming::Event(_))),
        "browser" => parse_browser_message(&text).is_ok(),
        _ => matches!(parse_to_browser(&text), Ok(ToBrowser::Hub(_))),
    }
}

#[test]
fn schemas_and_parsers_refuse_the_same_messages() {
    let create = json_of(&samples::commands()[1]);
    let resize = json_of(&samples::commands()[3]);
    let update = json_of(&samples::commands().pop().unwrap_or_else(|| unreachable!()));
    let chunk = json_of(&samples::commands()[11]);
    let hello = json_of(&samples::events()[2]);
    let started = json_of(&samples::events()[5]);
    let snapshot = json_of(&samples::events()[8]);
    let health = json_of(&samples::events()[3]);
    let failed = json_of(&samples::events()[7]);
    let content = json_of(&samples::events()[12]);
    let active = |n: usize, sid: &str| {
        let one = json!({"session_id": sid, "last_activity_at": "2025-06-01T12:00:00Z"});
        json!({ "active_sessions": vec![one; n] })
    };
    let input = json_of(&samples::browser_messages()[0]);
    let b_resize = json_of(&samples::browser_messages()[2]);
    let error = json_of(&samples::hub_messages()[2]);
    let gap = json_of(&samples::hub_messages()[4]);
    let bad: Vec<(&str, Value)> = vec![
        ("commands", edit(&resize, json!({"cols": 0}))),
        ("commands", edit(&resize, json!({"rows": 65_536}))),
        ("commands", edit(&resize, json!({"schema_version": null}))),
        ("commands", edit(&resize, json!({"schema_version": "2"}))),
        ("commands", edit(&resize, json!({"request_id": null}))),
        ("commands", edit(&resize, json!({"request_id": ""}))),
        ("commands", edit(&resize, json!({"session_id": "ses 1"}))),
        (
            "commands",
            edit(&resize, json!({"session_id": "s".repeat(256)})),
        ),
        ("commands", edit(&resize, json!({"verbose": true}))),
        ("commands", edit(&create, json!({"agent": "vim"}))),
        (
            "commands",
            edit(&create, json!({"agent_config": {"gemini_md": "x"}})),
        ),
        ("commands", edit(&create, json!({"env": {"A": 1}}))),
        ("commands", edit(&create, json!({"workdir": null}))),
        ("commands", edit(&update, json!({"sha256": "abc"}))),
        ("commands", edit(&chunk, json!({"data": "not base64"}))),
        ("commands", edit(&chunk, json!({"seq": -1}))),
        ("events", edit(&hello, json!({"system_info": null}))),
        (
            "events",
            edit(&hello, json!({"system_info": {"os": "linux"}})),
        ),
        ("events", edit(&started, json!({"pid": -1}))),
        ("events", edit(&started, json!({"request_id": null}))),
        ("events", edit(&snapshot, json!({"cols": 70_000}))),
        ("events", edit(&snapshot, json!({"content": null}))),
        ("events", edit(&snapshot, json!({"schema_version": "0"}))),
        ("events", edit(&snapshot, json!({"session_id": "ses 1"}))),
        ("events", edit(&started, json!({"request_id": ""}))),
        (
            "events",
            edit(&started, json!({"session_id": "s".repeat(256)})),
        ),
        ("events", edit(&hello, json!({"gateway_id": "gw/dev"}))),
        ("events", edit(&hello, json!({"hostname": "h".repeat(257)}))),
        ("events", edit(&health, json!({"timestamp": "yesterday"}))),
        ("events", edit(&health, json!({"cpu_percent": -1}))),
        ("events", edit(&health, active(1, "ses/1"))),
        ("events", edit(&health, active(1025, SID))),
        ("events", edit(&failed, json!({"error": "x".repeat(4097)}))),
        ("events", edit(&content, json!({"data": "not base64"}))),
        ("events", edit(&content, json!({"transfer_id": ""}))),
        ("browser", edit(&input, json!({"data": "aGk"}))),
        ("browser", edit(&input, json!({"user_id": "usr-1"}))),
        ("browser", edit(&input, json!({"session_id": null}))),
        ("browser", edit(&b_resize, json!({"cols": 0}))),
        ("browser", edit(&b_resize, json!({"request_id": ""}))),
        ("hub", edit(&error, json!({"code": "Bad Code"}))),
        ("hub", edit(&error, json!({"message": null}))),
        ("hub", edit(&gap, json!({"to_seq": null}))),
        ("hub", edit(&gap, json!({"from_seq": -1}))),
    ];
    for (folder, value) in &bad {
        assert!(
            check(folder, value).is_err(),
            "schema accepts {folder}: {value}"
        );
        assert!(
            !rust_accepts(folder, value),
            "Rust accepts {folder}: {value}"
        );
    }

    let good: Vec<(&str, Value)> = vec![
        ("events", edit(&started, json!({"tmux_socket": "/tmp/t"}))),
        (
            "events",
            edit(
                &hello,
                json!({"system_info": {"os": "linux", "arch": "arm64", "cpus": 1, "ram_total_bytes": 1, "disk_total_bytes": 1, "gpu": "none"}}),
            ),
        ),
        ("events", edit(&snapshot, json!({"cursor_shape": "block"}))),
        ("events", edit(&failed, json!({"error": "x".repeat(4096)}))),
        ("events", edit(&health, active(1024, SID))),
        ("events", edit(&hello, json!({"hostname": "h".repeat(256)}))),
        (
            "commands",
            edit(&create, json!({"agent": "none", "env": {}})),
        ),
        (
            "browser",
            edit(&input, json!({"request_id": "r".repeat(128)})),
        ),
        ("browser", edit(&b_resize, json!({"cols": 65_535}))),
        ("hub", edit(&gap, json!({"session_id": SID}))),
    ];
    for (folder, value) in &good {
        assert_eq!(check(folder, value), Ok(()), "{folder}: {value}");
        assert!(
            rust_accepts(folder, value),
            "Rust refuses {folder}: {value}"
        );
    }
}

#[test]
fn readme_lists_every_close_and_error_code() {
    let readme = std::fs::read_to_string(protocol_dir().join("README.md")).unwrap_or_default();
    for (code, name) in close::ALL {
        let row = format!("| {code} | `{name}` |");
        assert!(readme.contains(&row), "README.md has no row {row}");
    }
    for code in error_code::ALL {
        let row = format!("| `{code}` |");
        assert!(readme.contains(&row), "README.md has no row {row}");
    }
}
