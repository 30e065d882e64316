//! The objects the fake keeps (customers, payment methods, intents) and their JSON, field
//! for field as Stripe's API reference shows them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::cards::TestCard;

/// Metadata: string keys to string values.
pub(crate) type Metadata = BTreeMap<String, String>;

/// A customer (`cus_…`).
#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub id: String,
    pub created: u64,
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub phone: Option<String>,
    pub metadata: Metadata,
    /// `invoice_settings.default_payment_method`.
    pub default_payment_method: Option<String>,
}

impl Customer {
    pub(crate) fn to_json(&self) -> Value {
        let prefix: String = self
            .id
            .trim_start_matches("cus_")
            .chars()
            .take(8)
            .collect::<String>()
            .to_uppercase();
        json!({
            "id": self.id,
            "object": "customer",
            "address": null,
            "balance": 0,
            "created": self.created,
            "currency": null,
            "default_source": null,
            "delinquent": false,
            "description": self.description,
            "discount": null,
            "email": self.email,
            "invoice_prefix": prefix,
            "invoice_settings": {
                "custom_fields": null,
                "default_payment_method": self.default_payment_method,
                "footer": null,
                "rendering_options": null,
            },
            "livemode": false,
            "metadata": self.metadata,
            "name": self.name,
            "next_invoice_sequence": 1,
            "phone": self.phone,
            "preferred_locales": [],
            "shipping": null,
            "tax_exempt": "none",
            "test_clock": null,
        })
    }
}

/// A card payment method (`pm_…`).
#[derive(Debug, Clone)]
pub(crate) struct PaymentMethod {
    pub id: String,
    pub created: u64,
    pub card: TestCard,
    pub exp_month: u32,
    pub exp_year: u32,
    pub customer: Option<String>,
    pub metadata: Metadata,
    /// Detached from a customer: Stripe refuses to use or attach it again.
    pub consumed: bool,
}

impl PaymentMethod {
    /// The `card` hash, shared with a charge's `payment_method_details`.
    pub(crate) fn card_json(&self) -> Value {
        json!({
            "brand": self.card.brand(),
            "checks": {
                "address_line1_check": null,
                "address_postal_code_check": null,
                "cvc_check": "pass",
            },
            "country": "US",
            "display_brand": self.card.brand(),
            "exp_month": self.exp_month,
            "exp_year": self.exp_year,
            "fingerprint": self.card.fingerprint(),
            "funding": "credit",
            "last4": self.card.last4(),
            "networks": { "available": [self.card.brand()], "preferred": null },
            "regulated_status": "unregulated",
            "wallet": null,
        })
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut card = self.card_json();
        card["generated_from"] = Value::Null;
        card["three_d_secure_usage"] = json!({ "supported": true });
        json!({
            "id": self.id,
            "object": "payment_method",
            "allow_redisplay": "unspecified",
            "billing_details": {
                "address": {
                    "city": null, "country": null, "line1": null,
                    "line2": null, "postal_code": null, "state": null,
                },
                "email": null,
                "name": null,
                "phone": null,
                "tax_id": null,
            },
            "card": card,
            "created": self.created,
            "customer": self.customer,
            "livemode": false,
            "metadata": self.metadata,
            "type": "card",
        })
    }
}

/// A SetupIntent's or PaymentIntent's `status`, as Stripe spells it.
pub(crate) type Status = &'static str;

/// `payment_method_types` and `automatic_payment_methods` as an intent was created with.
#[derive(Debug, Clone)]
pub(crate) struct Methods {
    pub types: Vec<String>,
    /// `automatic_payment_methods[enabled]` (the default when no types are given).
    pub automatic: bool,
}

impl Methods {
    fn automatic_json(&self) -> Value {
        if self.automatic {
            json!({ "allow_redirects": "always", "enabled": true })
        } else {
            Value::Null
        }
    }
}

/// A SetupIntent (`seti_…`).
#[derive(Debug, Clone)]
pub(crate) struct SetupIntent {
    pub id: String,
    pub client_secret: String,
    pub created: u64,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub usage: String,
    pub methods: Methods,
    pub payment_method: Option<String>,
    pub status: Status,
    pub last_setup_error: Option<Value>,
}

impl SetupIntent {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "setup_intent",
            "application": null,
            "automatic_payment_methods": self.methods.automatic_json(),
            "cancellation_reason": null,
            "client_secret": self.client_secret,
            "created": self.created,
            "customer": self.customer,
            "description": self.description,
            "flow_directions": null,
            "last_setup_error": self.last_setup_error,
            "latest_attempt": null,
            "livemode": false,
            "mandate": null,
            "metadata": self.metadata,
            "next_action": next_action(self.status, &self.client_secret),
            "on_behalf_of": null,
            "payment_method": self.payment_method,
            "payment_method_configuration_details": null,
            "payment_method_options": {
                "card": { "mandate_options": null, "network": null, "request_three_d_secure": "automatic" },
            },
            "payment_method_types": self.methods.types,
            "single_use_mandate": null,
            "status": self.status,
            "usage": self.usage,
        })
    }
}

/// `next_action` of an intent waiting for 3D Secure in Stripe.js.
fn next_action(status: Status, client_secret: &str) -> Value {
    if status != "requires_action" {
        return Value::Null;
    }
    json!({
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {
            "type": "three_d_secure_redirect",
            "stripe_js": format!("https://hooks.stripe.com/3d_secure_2/hosted?client_secret={client_secret}"),
        },
    })
}

/// A PaymentIntent (`pi_…`).
#[derive(Debug, Clone)]
pub(crate) struct PaymentIntent {
    pub id: String,
    pub client_secret: String,
    pub created: u64,
    pub amount: u64,
    pub currency: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub methods: Methods,
    pub payment_method: Option<String>,
    pub status: Status,
    pub amount_received: u64,
    pub latest_charge: Option<String>,
    pub last_payment_error: Option<Value>,
}

impl PaymentIntent {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": 0,
            "amount_details": { "tip": {} },
            "amount_received": self.amount_received,
            "application": null,
            "application_fee_amount": null,
            "automatic_payment_methods": self.methods.automatic_json(),
            "canceled_at": null,
            "cancellation_reason": null,
            "capture_method": "automatic_async",
            "client_secret": self.client_secret,
            "confirmation_method": "automatic",
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "description": self.description,
            "last_payment_error": self.last_payment_error,
            "latest_charge": self.latest_charge,
            "livemode": false,
            "metadata": self.metadata,
            "next_action": next_action(self.status, &self.client_secret),
            "on_behalf_of": null,
            "payment_method": self.payment_method,
            "payment_method_configuration_details": null,
            "payment_method_options": {
                "card": { "installments": null, "mandate_options": null, "network": null, "request_three_d_secure": "automatic" },
            },
            "payment_method_types": self.methods.types,
            "processing": null,
            "receipt_email": null,
            "review": null,
            "setup_future_usage": null,
            "shipping": null,
            "source": null,
            "statement_descriptor": null,
            "statement_descriptor_suffix": null,
            "status": self.status,
            "transfer_data": null,
            "transfer_group": null,
        })
    }
}
