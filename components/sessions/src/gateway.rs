//! Asking a VPS's gateway something through the hub: the typed answer's fields, or the error
//! the user should see.

use chatcode_core::{ApiError, ErrorKind, protocol::Command, token::random_urlsafe};
use chatcode_kit::hub;
use serde_json::{Map, Value};

/// The list `field` of a typed answer: `[]` when the gateway sent none or `null` (a Go gateway
/// sends an empty slice as `null`; PROTOCOL.md reads both as empty), so answers are always the
/// documented arrays.
pub fn list(answer: &Map<String, Value>, field: &str) -> Value {
    match answer.get(field) {
        Some(Value::Array(items)) => Value::Array(items.clone()),
        _ => Value::Array(Vec::new()),
    }
}

/// A fresh `request_id` for a one-off question (`snapshot-…`, `ssh-list-…`).
pub fn request_id(what: &str) -> String {
    format!("{what}-{}", random_urlsafe(9))
}

/// Relays `command` and returns the fields of its typed answer (envelope removed). A refusal
/// answers 502 with the gateway's reason, or 422 when `refusal_is_input` (the gateway judged
/// what the user sent).
pub async fn ask(
    gateway_id: &str,
    command: &Command,
    refusal_is_input: bool,
) -> Result<Map<String, Value>, ApiError> {
    let answer = hub::relay(gateway_id, command).await?;
    if !answer.ack.ok {
        let why = answer.ack.error.unwrap_or_else(|| "refused".into());
        return Err(if refusal_is_input {
            ApiError::unprocessable(format!("the gateway refused: {why}"))
        } else {
            ApiError::new(ErrorKind::BadGateway, format!("the gateway refused: {why}"))
        });
    }
    match answer.event {
        Some(Value::Object(mut event)) => {
            for envelope in ["type", "schema_version", "request_id"] {
                event.remove(envelope);
            }
            Ok(event)
        }
        _ => Err(ApiError::new(
            ErrorKind::BadGateway,
            "the gateway acknowledged but sent no answer",
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::list;

    #[test]
    fn missing_and_null_lists_are_empty() {
        let answer: Map<String, Value> = serde_json::from_value(
            json!({"keys": null, "agents": [{"name": "codex"}], "folders": "?"}),
        )
        .unwrap();
        assert_eq!(list(&answer, "keys"), json!([]));
        assert_eq!(list(&answer, "agents"), json!([{"name": "codex"}]));
        assert_eq!(list(&answer, "folders"), json!([]));
        assert_eq!(list(&answer, "absent"), json!([]));
    }
}
