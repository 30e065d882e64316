//! Asking a VPS's gateway something through the hub: the typed answer's fields, or the error
//! the user should see.

use chatcode_core::{ApiError, ErrorKind, protocol::Command, token::random_urlsafe};
use chatcode_kit::hub;
use serde_json::{Map, Value};

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
