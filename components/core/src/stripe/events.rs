//! Webhook events: what each one chatcode handles asks it to do.
//!
//! Stripe delivers at least once and in any order, so no action assumes another came first:
//! payment methods are re-read from Stripe rather than patched from the event; a grant is
//! keyed by its PaymentIntent whichever event proves the payment; a refund or dispute that
//! arrives before the payment's own event grants first (a charge that can be refunded or
//! disputed was paid), then takes back.

use serde::Deserialize;
use serde_json::Value;

use super::objects::{Charge, Dispute, PaymentIntent, SetupIntent};

/// An event (`evt_…`) as delivered.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event {
    /// Its id: deliveries of one event share it.
    pub id: String,
    /// `payment_intent.succeeded`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened (unix seconds).
    #[serde(default)]
    pub created: i64,
    /// The object, and what changed.
    pub data: EventData,
}

/// An event's `data`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventData {
    /// The object as it was when the event happened.
    pub object: Value,
    /// For `*.updated` and `payment_method.detached`: what the fields were before.
    #[serde(default)]
    pub previous_attributes: Option<Value>,
}

/// What an event asks chatcode to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `setup_intent.succeeded`: the customer saved a card; re-read their payment methods.
    SyncCustomer {
        /// The customer (`cus_…`).
        customer: String,
    },
    /// `payment_method.detached`: re-read the payment methods of whoever had it.
    Detached {
        /// The payment method (`pm_…`).
        payment_method: String,
        /// Its customer before, if the event says.
        customer: Option<String>,
    },
    /// `payment_intent.succeeded`: grant the purchase's credits.
    Paid(Box<PaymentIntent>),
    /// `payment_intent.payment_failed`: mark the purchase.
    PaymentFailed(Box<PaymentIntent>),
    /// `charge.refunded`: take back the refunded share.
    Refunded(Charge),
    /// `charge.dispute.created`: take back the disputed share and freeze purchases.
    Disputed(Dispute),
    /// Anything else: acknowledged and recorded, nothing more.
    Ignore,
}

impl Event {
    /// Parses a delivery's body.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let event: Event = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        if event.id.is_empty() || event.id.len() > 255 {
            return Err("the event has no usable id".into());
        }
        Ok(event)
    }

    /// What this event asks for; an error if its object is not what its type promises.
    pub fn action(&self) -> Result<Action, String> {
        let object = || self.data.object.clone();
        let malformed = |e: serde_json::Error| format!("{} object: {e}", self.kind);
        Ok(match self.kind.as_str() {
            "setup_intent.succeeded" => {
                let intent: SetupIntent = serde_json::from_value(object()).map_err(malformed)?;
                match intent.customer {
                    Some(customer) => Action::SyncCustomer { customer },
                    None => Action::Ignore,
                }
            }
            "payment_method.detached" => {
                let id = self.data.object["id"]
                    .as_str()
                    .ok_or("payment_method.detached object has no id")?;
                let customer = self
                    .data
                    .previous_attributes
                    .as_ref()
                    .and_then(|p| p["customer"].as_str())
                    .map(str::to_owned);
                Action::Detached {
                    payment_method: id.to_owned(),
                    customer,
                }
            }
            "payment_intent.succeeded" => Action::Paid(Box::new(
                serde_json::from_value(object()).map_err(malformed)?,
            )),
            "payment_intent.payment_failed" => Action::PaymentFailed(Box::new(
                serde_json::from_value(object()).map_err(malformed)?,
            )),
            "charge.refunded" => {
                Action::Refunded(serde_json::from_value(object()).map_err(malformed)?)
            }
            "charge.dispute.created" => {
                Action::Disputed(serde_json::from_value(object()).map_err(malformed)?)
            }
            _ => Action::Ignore,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(kind: &str, object: Value, previous: Option<Value>) -> Event {
        let mut data = json!({ "object": object });
        if let Some(p) = previous {
            data["previous_attributes"] = p;
        }
        Event::parse(
            json!({"id": "evt_1", "object": "event", "type": kind, "created": 1, "data": data,
                   "livemode": false, "api_version": "2025-06-30.basil"})
            .to_string()
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn handled_events_become_actions() {
        let setup = event(
            "setup_intent.succeeded",
            json!({"id": "seti_1", "status": "succeeded", "customer": "cus_1", "payment_method": "pm_1"}),
            None,
        );
        assert_eq!(
            setup.action(),
            Ok(Action::SyncCustomer {
                customer: "cus_1".into()
            })
        );
        let detached = event(
            "payment_method.detached",
            json!({"id": "pm_1", "type": "card", "customer": null}),
            Some(json!({"customer": "cus_1"})),
        );
        assert_eq!(
            detached.action(),
            Ok(Action::Detached {
                payment_method: "pm_1".into(),
                customer: Some("cus_1".into())
            })
        );
        let paid = event(
            "payment_intent.succeeded",
            json!({"id": "pi_1", "status": "succeeded", "amount": 500, "amount_received": 500,
                   "currency": "usd", "customer": "cus_1", "metadata": {"purchase_id": "pur-1"}}),
            None,
        );
        let Ok(Action::Paid(pi)) = paid.action() else {
            panic!("paid")
        };
        assert_eq!(pi.metadata["purchase_id"], "pur-1");
        let refunded = event(
            "charge.refunded",
            json!({"id": "ch_1", "payment_intent": "pi_1", "amount": 500, "amount_refunded": 200, "currency": "usd"}),
            None,
        );
        assert!(matches!(refunded.action(), Ok(Action::Refunded(c)) if c.amount_refunded == 200));
        let disputed = event(
            "charge.dispute.created",
            json!({"id": "dp_1", "charge": "ch_1", "payment_intent": "pi_1", "amount": 500}),
            None,
        );
        assert!(matches!(disputed.action(), Ok(Action::Disputed(d)) if d.charge == "ch_1"));
        assert_eq!(
            event("customer.created", json!({}), None).action(),
            Ok(Action::Ignore)
        );
    }

    #[test]
    fn malformed_objects_and_bodies_are_errors() {
        assert!(
            event("payment_intent.succeeded", json!({"id": 5}), None)
                .action()
                .is_err()
        );
        assert!(Event::parse(b"{}").is_err());
        assert!(Event::parse(br#"{"id":"","type":"x","data":{"object":{}}}"#).is_err());
    }
}
