//! The Stripe objects chatcode reads, with only the fields it uses. Unknown fields are
//! ignored, so new API versions add to them without breaking.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A customer (`cus_…`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Customer {
    /// Its id.
    pub id: String,
    /// Its default payment method for charges.
    #[serde(default)]
    pub invoice_settings: InvoiceSettings,
    /// Present and true on a deleted customer.
    #[serde(default)]
    pub deleted: bool,
}

/// A customer's `invoice_settings`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct InvoiceSettings {
    /// The payment method charged by default.
    #[serde(default)]
    pub default_payment_method: Option<String>,
}

/// A payment method (`pm_…`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PaymentMethod {
    /// Its id.
    pub id: String,
    /// The customer it is attached to (none once detached).
    #[serde(default)]
    pub customer: Option<String>,
    /// `card`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The card's details, for a card.
    #[serde(default)]
    pub card: Option<Card>,
    /// When it was made (unix seconds).
    #[serde(default)]
    pub created: i64,
}

/// What a card payment method shows of its card (never its number).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Card {
    /// `visa`, `mastercard`, …
    pub brand: String,
    /// The last four digits.
    pub last4: String,
    /// Expiry month (1–12).
    pub exp_month: i64,
    /// Expiry year.
    pub exp_year: i64,
}

/// A page of a Stripe list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct List<T> {
    /// The page's objects, newest first.
    pub data: Vec<T>,
    /// Whether more follow.
    #[serde(default)]
    pub has_more: bool,
}

/// A SetupIntent (`seti_…`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SetupIntent {
    /// Its id.
    pub id: String,
    /// What Stripe.js confirms it with.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// `requires_payment_method`, `succeeded`, …
    pub status: String,
    /// The customer the card is saved for.
    #[serde(default)]
    pub customer: Option<String>,
    /// The card, once given.
    #[serde(default)]
    pub payment_method: Option<String>,
}

/// A PaymentIntent (`pi_…`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PaymentIntent {
    /// Its id.
    pub id: String,
    /// `succeeded`, `requires_action`, `requires_payment_method`, …
    pub status: String,
    /// What Stripe.js confirms it with on-session.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The amount asked for, in minor units.
    #[serde(default)]
    pub amount: i64,
    /// The amount received, in minor units.
    #[serde(default)]
    pub amount_received: i64,
    /// Lowercase ISO 4217 code.
    #[serde(default)]
    pub currency: String,
    /// The paying customer.
    #[serde(default)]
    pub customer: Option<String>,
    /// The card charged.
    #[serde(default)]
    pub payment_method: Option<String>,
    /// What chatcode put there: `purchase_id`, `user_id`, …
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Why the last attempt failed.
    #[serde(default)]
    pub last_payment_error: Option<LastError>,
}

/// A PaymentIntent's `last_payment_error`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LastError {
    /// `card_declined`, `authentication_required`, …
    #[serde(default)]
    pub code: Option<String>,
    /// The issuer's reason.
    #[serde(default)]
    pub decline_code: Option<String>,
    /// Stripe's message.
    #[serde(default)]
    pub message: Option<String>,
    /// The card that failed.
    #[serde(default)]
    pub payment_method: Option<ObjectRef>,
}

/// An embedded object of which only the id is read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ObjectRef {
    /// Its id.
    pub id: String,
}

/// A charge (`ch_…`), as `charge.refunded` carries it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Charge {
    /// Its id.
    pub id: String,
    /// The PaymentIntent it belongs to.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// The amount charged, in minor units.
    #[serde(default)]
    pub amount: i64,
    /// How much of it was refunded so far, in minor units.
    #[serde(default)]
    pub amount_refunded: i64,
    /// Lowercase ISO 4217 code.
    #[serde(default)]
    pub currency: String,
}

/// A dispute (`dp_…`), as `charge.dispute.created` carries it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Dispute {
    /// Its id.
    pub id: String,
    /// The disputed charge.
    pub charge: String,
    /// The charge's PaymentIntent.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// The disputed amount, in minor units.
    #[serde(default)]
    pub amount: i64,
}

/// Stripe's error body: `{"error": {…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What Stripe says went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorDetail {
    /// `card_error`, `invalid_request_error`, `idempotency_error`, `api_error`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    /// `card_declined`, `authentication_required`, `resource_missing`, …
    #[serde(default)]
    pub code: Option<String>,
    /// The issuer's reason, for a card error.
    #[serde(default)]
    pub decline_code: Option<String>,
    /// A message (for a card error, meant for the customer).
    #[serde(default)]
    pub message: Option<String>,
    /// The PaymentIntent a failed confirmation left behind.
    #[serde(default)]
    pub payment_intent: Option<PaymentIntent>,
}
