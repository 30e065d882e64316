//! Charges (`ch_…`), refunds (`re_…`) and disputes (`dp_…`): `GET /v1/charges/{id}`, and
//! what the dashboard and the bank do to a charge later, with the events Stripe sends.

use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde_json::{Value, json};

use super::{
    cards::outcome_json,
    errors::{ApiError, json_response},
    gate::Caller,
    handle::HookError,
    model::{Metadata, PaymentMethod},
    params::{self, Schema},
    state::{Inner, Origin, StripeState, new_id},
};

/// A charge (`ch_…`): one attempt to move a PaymentIntent's money.
#[derive(Debug, Clone)]
pub(crate) struct Charge {
    pub id: String,
    pub created: u64,
    pub amount: u64,
    pub currency: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub payment_intent: String,
    pub payment_method: PaymentMethod,
    /// The decline (code, decline code, message), if it failed.
    pub failure: Option<ApiError>,
    pub balance_transaction: Option<String>,
    pub amount_refunded: u64,
    pub disputed: bool,
}

impl Charge {
    pub(crate) fn succeeded(&self) -> bool {
        self.failure.is_none()
    }

    pub(crate) fn to_json(&self) -> Value {
        let ok = self.succeeded();
        let pm = &self.payment_method;
        let mut card = pm.card_json();
        card["network"] = json!(pm.card.brand());
        card["three_d_secure"] = Value::Null;
        let mut head = json!({
            "id": self.id,
            "object": "charge",
            "amount": self.amount,
            "amount_captured": if ok { self.amount } else { 0 },
            "amount_refunded": self.amount_refunded,
            "application": null,
            "application_fee": null,
            "application_fee_amount": null,
            "balance_transaction": self.balance_transaction,
            "billing_details": pm.to_json()["billing_details"],
            "calculated_statement_descriptor": "CHATCODE",
            "captured": ok,
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "description": self.description,
            "disputed": self.disputed,
            "failure_balance_transaction": null,
            "failure_code": self.failure.as_ref().and_then(|f| f.code),
            "failure_message": self.failure.as_ref().map(|f| f.message.clone()),
        });
        let ok_status = if ok { "succeeded" } else { "failed" };
        let rest = json!({
            "fraud_details": {},
            "livemode": false,
            "metadata": self.metadata,
            "on_behalf_of": null,
            "outcome": outcome_json(self.failure.as_ref()),
            "paid": ok,
            "payment_intent": self.payment_intent,
            "payment_method": pm.id,
            "payment_method_details": { "card": card, "type": "card" },
            "receipt_email": null,
            "receipt_number": null,
            "receipt_url": null,
            "refunded": ok && self.amount_refunded >= self.amount,
            "review": null,
            "shipping": null,
            "source": null,
            "source_transfer": null,
            "statement_descriptor": null,
            "statement_descriptor_suffix": null,
            "status": ok_status,
            "transfer_data": null,
            "transfer_group": null,
        });
        if let (Value::Object(head), Value::Object(rest)) = (&mut head, rest) {
            head.extend(rest);
        }
        head
    }
}

/// A refund (`re_…`).
#[derive(Debug, Clone)]
pub(crate) struct Refund {
    pub id: String,
    pub created: u64,
    pub amount: u64,
    pub currency: String,
    pub charge: String,
    pub payment_intent: String,
}

impl Refund {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "balance_transaction": format!("txn_{}", self.id.trim_start_matches("re_")),
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "destination_details": { "card": { "reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund" }, "type": "card" },
            "metadata": {},
            "payment_intent": self.payment_intent,
            "reason": null,
            "receipt_number": null,
            "source_transfer_reversal": null,
            "status": "succeeded",
            "transfer_reversal": null,
        })
    }
}

/// A dispute (`dp_…`) the cardholder's bank opened on a charge.
#[derive(Debug, Clone)]
pub(crate) struct Dispute {
    pub id: String,
    pub created: u64,
    pub amount: u64,
    pub currency: String,
    pub charge: String,
    pub payment_intent: String,
    pub reason: String,
    pub brand: &'static str,
}

/// A dispute's evidence is due three weeks after it opens.
const EVIDENCE_WINDOW_SECS: u64 = 21 * 24 * 3600;

impl Dispute {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "dispute",
            "amount": self.amount,
            "balance_transactions": [],
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "evidence": {},
            "evidence_details": {
                "due_by": self.created + EVIDENCE_WINDOW_SECS,
                "has_evidence": false,
                "past_due": false,
                "submission_count": 0,
            },
            "is_charge_refundable": false,
            "livemode": false,
            "metadata": {},
            "payment_intent": self.payment_intent,
            "payment_method_details": { "card": { "brand": self.brand, "case_type": "chargeback", "network_reason_code": null }, "type": "card" },
            "reason": self.reason,
            "status": "needs_response",
        })
    }
}

const NO_PARAMS: Schema = &[];

/// `GET /v1/charges/{id}`.
pub(crate) async fn get(
    State(state): State<StripeState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    params::check(&caller.form, NO_PARAMS)?;
    let json = state
        .lock()
        .charges
        .get(&id)
        .map(|c| c.to_json())
        .ok_or_else(|| ApiError::no_such("charge", &id, "id"))?;
    Ok(json_response(StatusCode::OK, &json))
}

impl Inner {
    /// Refunds `amount` (the rest of the charge if `None`) from the dashboard:
    /// `charge.refunded` with the Charge, then `refund.created`.
    pub(crate) fn refund(
        &mut self,
        charge_id: &str,
        amount: Option<u64>,
        now_ms: u64,
    ) -> Result<String, HookError> {
        let charge = self
            .charges
            .get_mut(&charge_id.to_owned())
            .ok_or_else(|| HookError::NotFound(charge_id.to_owned()))?;
        if !charge.succeeded() {
            return Err(HookError::WrongState(format!(
                "{charge_id} failed: there is nothing to refund"
            )));
        }
        let left = charge.amount - charge.amount_refunded;
        let amount = amount.unwrap_or(left);
        if amount == 0 || amount > left {
            return Err(HookError::WrongState(format!(
                "{charge_id} has {left} left to refund, not {amount}"
            )));
        }
        let before = json!({
            "amount_refunded": charge.amount_refunded,
            "refunded": false,
        });
        charge.amount_refunded += amount;
        let refund = Refund {
            id: new_id("re"),
            created: now_ms / 1000,
            amount,
            currency: charge.currency.clone(),
            charge: charge.id.clone(),
            payment_intent: charge.payment_intent.clone(),
        };
        let charge_json = charge.to_json();
        self.refunds.insert(refund.id.clone(), refund.clone());
        let origin = Origin::default();
        self.emit(
            "charge.refunded",
            charge_json,
            Some(before),
            &origin,
            now_ms,
        );
        self.emit("refund.created", refund.to_json(), None, &origin, now_ms);
        Ok(refund.id)
    }

    /// Opens a dispute for the whole charge, as the cardholder's bank would:
    /// `charge.dispute.created` with a Dispute in `needs_response`.
    pub(crate) fn dispute(
        &mut self,
        charge_id: &str,
        reason: &str,
        now_ms: u64,
    ) -> Result<String, HookError> {
        let charge = self
            .charges
            .get_mut(&charge_id.to_owned())
            .ok_or_else(|| HookError::NotFound(charge_id.to_owned()))?;
        if !charge.succeeded() || charge.disputed {
            return Err(HookError::WrongState(format!(
                "{charge_id} cannot be disputed (failed, or disputed already)"
            )));
        }
        charge.disputed = true;
        let dispute = Dispute {
            id: new_id("dp"),
            created: now_ms / 1000,
            amount: charge.amount,
            currency: charge.currency.clone(),
            charge: charge.id.clone(),
            payment_intent: charge.payment_intent.clone(),
            reason: reason.to_owned(),
            brand: charge.payment_method.card.brand(),
        };
        self.disputes.insert(dispute.id.clone(), dispute.clone());
        self.emit(
            "charge.dispute.created",
            dispute.to_json(),
            None,
            &Origin::default(),
            now_ms,
        );
        Ok(dispute.id)
    }
}
