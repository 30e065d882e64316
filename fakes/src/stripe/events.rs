//! Events (`evt_…`): what changed, with the object as it was then; `GET /v1/events/{id}`.

use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde_json::{Map, Value, json};

use super::{
    errors::{ApiError, json_response},
    gate::Caller,
    params::{self, Schema},
    state::{Inner, Origin, StripeState, new_id},
};

/// One event as the fake keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub id: String,
    /// `customer.created`, `payment_intent.succeeded`, …
    pub kind: String,
    pub created: u64,
    /// `data.object`: the object as it was when the event happened.
    pub object: Value,
    /// `data.previous_attributes` of `*.updated` events.
    pub previous: Option<Value>,
    pub origin: Origin,
    /// The endpoint was enabled for it when it happened (so a delivery is pending).
    pub for_endpoint: bool,
    /// The endpoint answered 2xx to one delivery.
    pub delivered: bool,
}

impl Event {
    /// The Event object; `pending_webhooks` counts endpoints still to acknowledge it.
    pub(crate) fn to_json(&self, api_version: &str, pending_webhooks: u32) -> Value {
        let mut data = Map::new();
        data.insert("object".into(), self.object.clone());
        if let Some(previous) = &self.previous {
            data.insert("previous_attributes".into(), previous.clone());
        }
        json!({
            "id": self.id,
            "object": "event",
            "api_version": api_version,
            "created": self.created,
            "data": data,
            "livemode": false,
            "pending_webhooks": pending_webhooks,
            "request": {
                "id": self.origin.request_id,
                "idempotency_key": self.origin.idempotency_key,
            },
            "type": self.kind,
        })
    }
}

impl Inner {
    /// Records an event and, if the endpoint wants its type, queues its delivery.
    pub(crate) fn emit(
        &mut self,
        kind: &str,
        object: Value,
        previous: Option<Value>,
        origin: &Origin,
        now_ms: u64,
    ) {
        let event = Event {
            id: new_id("evt"),
            kind: kind.to_owned(),
            created: now_ms / 1000,
            object,
            previous,
            origin: origin.clone(),
            for_endpoint: self.webhooks.wants(kind),
            delivered: false,
        };
        if event.for_endpoint {
            self.webhooks.enqueue(&event.id, now_ms);
        }
        self.events.insert(event.id.clone(), event);
    }

    /// An event's JSON as the API shows it now.
    pub(crate) fn event_json(&self, id: &str, api_version: &str) -> Option<Value> {
        let event = self.events.get(&id.to_owned())?;
        let pending = u32::from(event.for_endpoint && !event.delivered);
        Some(event.to_json(api_version, pending))
    }
}

/// `data.previous_attributes`: the values in `before` that differ in `after` (recursing
/// into hashes); `None` when nothing changed.
pub(crate) fn previous_attributes(before: &Value, after: &Value) -> Option<Value> {
    let (Value::Object(before), Value::Object(after)) = (before, after) else {
        return (before != after).then(|| before.clone());
    };
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let changed: Map<String, Value> = keys
        .into_iter()
        .filter_map(|key| {
            let old = before.get(key).unwrap_or(&Value::Null);
            let new = after.get(key).unwrap_or(&Value::Null);
            match (old, new) {
                (Value::Object(_), Value::Object(_)) => {
                    previous_attributes(old, new).map(|p| (key.clone(), p))
                }
                _ => (old != new).then(|| (key.clone(), old.clone())),
            }
        })
        .collect();
    (!changed.is_empty()).then_some(Value::Object(changed))
}

const NO_PARAMS: Schema = &[];

/// `GET /v1/events/{id}`.
pub(crate) async fn get(
    State(state): State<StripeState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    params::check(&caller.form, NO_PARAMS)?;
    let json = state
        .lock()
        .event_json(&id, &state.config().api_version)
        .ok_or_else(|| ApiError::no_such("event", &id, "id"))?;
    Ok(json_response(StatusCode::OK, &json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_attributes_keep_only_what_changed() {
        let before = json!({"a": 1, "s": {"x": "pm_1", "y": null}, "m": {"k": "v"}});
        let after = json!({"a": 1, "s": {"x": null, "y": null}, "m": {"n": "w"}});
        assert_eq!(
            previous_attributes(&before, &after),
            Some(json!({"s": {"x": "pm_1"}, "m": {"k": "v", "n": null}}))
        );
        assert_eq!(previous_attributes(&before, &before), None);
    }
}
