//! Buying credits: the request, a purchase's status as Stripe's answers and events move it,
//! and the 402s billing answers, each mapped to its [`ApiError`] here and nowhere else.

use serde::Deserialize;
use serde_json::json;

use super::{ledger::Insufficient, usage::check_idempotency_key};
use crate::ApiError;

/// The body of `POST /api/billing/credits/purchase`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurchaseRequest {
    /// The package to buy.
    pub package_id: String,
    /// The caller's key: the same key again is the same purchase (one charge, one grant).
    pub idempotency_key: String,
}

impl PurchaseRequest {
    /// Checks the key (the package is looked up by the caller).
    pub fn validate(&self) -> Result<(), ApiError> {
        check_idempotency_key(&self.idempotency_key).map_err(|why| {
            ApiError::invalid_fields([("idempotency_key".to_owned(), why.to_owned())].into())
        })
    }
}

/// Where a purchase stands. Later states win over earlier ones whatever order Stripe's answers
/// and events come in: `succeeded` is final, and a failure never undoes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PurchaseStatus {
    /// Recorded; Stripe has not answered yet (or the answer was lost).
    Pending,
    /// The bank wants the customer to authenticate, on-session.
    RequiresAction,
    /// The charge was declined.
    Failed,
    /// Paid; the credits are granted.
    Succeeded,
}

impl PurchaseStatus {
    /// Every status.
    pub const ALL: [PurchaseStatus; 4] = [
        PurchaseStatus::Pending,
        PurchaseStatus::RequiresAction,
        PurchaseStatus::Failed,
        PurchaseStatus::Succeeded,
    ];

    /// The `status` column's value.
    pub const fn as_str(self) -> &'static str {
        match self {
            PurchaseStatus::Pending => "pending",
            PurchaseStatus::RequiresAction => "requires_action",
            PurchaseStatus::Failed => "failed",
            PurchaseStatus::Succeeded => "succeeded",
        }
    }

    /// The status a `status` column holds.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The status once `news` arrives, in whatever order: the later state of the two.
    pub fn merge(self, news: PurchaseStatus) -> PurchaseStatus {
        self.max(news)
    }

    /// What a PaymentIntent's `status` (with its last error's `code`) means for the purchase.
    pub fn of_payment_intent(status: &str, error_code: Option<&str>) -> PurchaseStatus {
        match (status, error_code) {
            ("succeeded", _) => PurchaseStatus::Succeeded,
            ("requires_action" | "requires_confirmation", _) => PurchaseStatus::RequiresAction,
            ("requires_payment_method", Some("authentication_required")) => {
                PurchaseStatus::RequiresAction
            }
            ("requires_payment_method", Some(_)) | ("canceled", _) => PurchaseStatus::Failed,
            _ => PurchaseStatus::Pending,
        }
    }
}

/// Why billing answers 402.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentError {
    /// The balance cannot cover a usage event.
    InsufficientCredits(Insufficient),
    /// The budget guard is on and the balance is zero: no new sessions.
    BudgetExhausted,
    /// The bank declined the card (`code`: Stripe's `card_declined`, `expired_card`, …).
    CardDeclined {
        /// Stripe's error code.
        code: String,
        /// The issuer's reason (`insufficient_funds`, `generic_decline`, …), if given.
        decline_code: Option<String>,
        /// Stripe's message, meant for the customer.
        message: String,
    },
    /// The bank wants the customer to authenticate: the page confirms this PaymentIntent
    /// on-session with Stripe.js and its client secret.
    AuthenticationRequired {
        /// The PaymentIntent (`pi_…`).
        payment_intent: String,
        /// Its client secret, for Stripe.js.
        client_secret: String,
        /// The card to confirm it with, if Stripe named it.
        payment_method: Option<String>,
    },
}

impl From<PaymentError> for ApiError {
    fn from(err: PaymentError) -> Self {
        match err {
            PaymentError::InsufficientCredits(short) => {
                ApiError::payment_required("insufficient_credits", short.to_string())
                    .with_detail("needed", json!(short.needed))
                    .with_detail("balance", json!(short.available))
            }
            PaymentError::BudgetExhausted => ApiError::payment_required(
                "insufficient_credits",
                "no credits left and the budget guard is on: buy credits to start sessions",
            ),
            PaymentError::CardDeclined {
                code,
                decline_code,
                message,
            } => ApiError::payment_required(code, message)
                .with_detail("decline_code", json!(decline_code)),
            PaymentError::AuthenticationRequired {
                payment_intent,
                client_secret,
                payment_method,
            } => ApiError::payment_required(
                "authentication_required",
                "your bank asks you to confirm this payment",
            )
            .with_detail(
                "payment_intent",
                json!({
                    "id": payment_intent,
                    "client_secret": client_secret,
                    "payment_method": payment_method,
                }),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn statuses_round_trip_and_only_move_forward() {
        use PurchaseStatus as S;
        for status in S::ALL {
            assert_eq!(S::parse(status.as_str()), Some(status));
            assert_eq!(S::Succeeded.merge(status), S::Succeeded);
            assert_eq!(status.merge(S::Pending), status);
        }
        assert_eq!(S::RequiresAction.merge(S::Failed), S::Failed);
        assert_eq!(S::Failed.merge(S::RequiresAction), S::Failed);
        assert_eq!(S::Failed.merge(S::Succeeded), S::Succeeded);
    }

    #[test]
    fn payment_intents_map_to_purchase_statuses() {
        use PurchaseStatus as S;
        assert_eq!(S::of_payment_intent("succeeded", None), S::Succeeded);
        assert_eq!(
            S::of_payment_intent("requires_payment_method", Some("authentication_required")),
            S::RequiresAction
        );
        assert_eq!(
            S::of_payment_intent("requires_payment_method", Some("card_declined")),
            S::Failed
        );
        assert_eq!(
            S::of_payment_intent("requires_action", None),
            S::RequiresAction
        );
        assert_eq!(S::of_payment_intent("processing", None), S::Pending);
    }

    fn body(err: PaymentError) -> (u16, Value) {
        let api = ApiError::from(err);
        (api.status(), serde_json::from_str(&api.to_json()).unwrap())
    }

    #[test]
    fn every_refusal_is_a_402_with_its_code() {
        let (status, short) = body(PaymentError::InsufficientCredits(Insufficient {
            needed: 30,
            available: 10,
        }));
        assert_eq!(status, 402);
        assert_eq!(short["error"]["code"], "insufficient_credits");
        assert_eq!(short["error"]["needed"], 30);
        let (_, declined) = body(PaymentError::CardDeclined {
            code: "card_declined".into(),
            decline_code: Some("insufficient_funds".into()),
            message: "Your card has insufficient funds.".into(),
        });
        assert_eq!(declined["error"]["code"], "card_declined");
        assert_eq!(declined["error"]["decline_code"], "insufficient_funds");
        let (_, auth) = body(PaymentError::AuthenticationRequired {
            payment_intent: "pi_1".into(),
            client_secret: "pi_1_secret_x".into(),
            payment_method: Some("pm_1".into()),
        });
        assert_eq!(auth["error"]["code"], "authentication_required");
        assert_eq!(
            auth["error"]["payment_intent"]["client_secret"],
            "pi_1_secret_x"
        );
        assert_eq!(body(PaymentError::BudgetExhausted).0, 402);
    }
}
