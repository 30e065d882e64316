//! Stripe's test cards and how each behaves when set up or charged
//! (docs.stripe.com/testing: declines, 3D Secure, off-session authentication).

use serde_json::{Value, json};

use super::errors::ApiError;

/// A card a test gives a payment method; it decides how charges on it end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TestCard {
    /// `4242424242424242`: every payment succeeds.
    #[default]
    Visa,
    /// `4000002760003184`: requires authentication on every transaction, however it was set
    /// up; an off-session charge fails with `authentication_required`.
    AuthenticationRequired,
    /// `4000000000000002`: declined with `generic_decline`.
    Declined,
    /// `4000000000009995`: set up fine, charges declined with `insufficient_funds`.
    InsufficientFunds,
}

/// How an attempt on a card ends.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// Authorized.
    Approved,
    /// The customer must authenticate (3D Secure) while on-session.
    NeedsAuthentication,
    /// Declined by the issuer: the 402 `card_error`.
    Declined(ApiError),
}

impl TestCard {
    /// The card number (what the customer types into Stripe.js).
    pub fn number(self) -> &'static str {
        match self {
            Self::Visa => "4242424242424242",
            Self::AuthenticationRequired => "4000002760003184",
            Self::Declined => "4000000000000002",
            Self::InsufficientFunds => "4000000000009995",
        }
    }

    /// The last four digits.
    pub fn last4(self) -> &'static str {
        let number = self.number();
        &number[number.len() - 4..]
    }

    /// The card brand (`visa` for all of them).
    pub fn brand(self) -> &'static str {
        "visa"
    }

    /// The card of one of Stripe's test payment method ids (`pm_card_visa`, …).
    pub(crate) fn from_test_id(id: &str) -> Option<Self> {
        Some(match id {
            "pm_card_visa" => Self::Visa,
            "pm_card_authenticationRequired" => Self::AuthenticationRequired,
            "pm_card_chargeDeclined" | "pm_card_visa_chargeDeclined" => Self::Declined,
            "pm_card_chargeDeclinedInsufficientFunds" => Self::InsufficientFunds,
            _ => return None,
        })
    }

    /// A stable fingerprint per card number, as Stripe gives the same card the same one.
    pub(crate) fn fingerprint(self) -> String {
        let hash = self
            .number()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..16)
            .map(|i| {
                let index = usize::try_from((hash >> (i * 4)) % 62).unwrap_or(0);
                char::from(alphabet[index])
            })
            .collect()
    }

    /// A charge: `off_session` when the customer is away; `authenticated` once they passed
    /// 3D Secure on-session.
    pub(crate) fn charge(self, off_session: bool, authenticated: bool) -> Outcome {
        match self {
            Self::Visa => Outcome::Approved,
            Self::AuthenticationRequired if authenticated => Outcome::Approved,
            Self::AuthenticationRequired if off_session => Outcome::Declined(ApiError::card(
                "authentication_required",
                "authentication_required",
                "Your card was declined. This transaction requires authentication.",
            )),
            Self::AuthenticationRequired => Outcome::NeedsAuthentication,
            Self::Declined => Outcome::Declined(generic_decline()),
            Self::InsufficientFunds => Outcome::Declined(ApiError::card(
                "card_declined",
                "insufficient_funds",
                "Your card has insufficient funds.",
            )),
        }
    }

    /// Saving the card with a SetupIntent (no money moves, so insufficient funds pass).
    pub(crate) fn setup(self, authenticated: bool) -> Outcome {
        match self {
            Self::Declined => Outcome::Declined(generic_decline()),
            Self::AuthenticationRequired if !authenticated => Outcome::NeedsAuthentication,
            _ => Outcome::Approved,
        }
    }
}

fn generic_decline() -> ApiError {
    ApiError::card(
        "card_declined",
        "generic_decline",
        "Your card was declined.",
    )
}

/// A charge's `outcome` for an approval or a decline.
pub(crate) fn outcome_json(decline: Option<&ApiError>) -> Value {
    match decline.and_then(|d| d.decline_code) {
        None => json!({
            "advice_code": null,
            "network_advice_code": null,
            "network_decline_code": null,
            "network_status": "approved_by_network",
            "reason": null,
            "risk_level": "normal",
            "risk_score": 32,
            "seller_message": "Payment complete.",
            "type": "authorized",
        }),
        Some(code) => json!({
            "advice_code": null,
            "network_advice_code": null,
            "network_decline_code": null,
            "network_status": "declined_by_network",
            "reason": code,
            "risk_level": "normal",
            "risk_score": 32,
            "seller_message": if code == "generic_decline" {
                "The bank did not return any further details with this decline.".to_owned()
            } else {
                format!("The bank returned the decline code `{code}`.")
            },
            "type": "issuer_declined",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_behave_as_stripe_documents() {
        assert_eq!(TestCard::Visa.charge(true, false), Outcome::Approved);
        let Outcome::Declined(e) = TestCard::AuthenticationRequired.charge(true, false) else {
            panic!("declined off-session")
        };
        assert_eq!(e.code, Some("authentication_required"));
        assert_eq!(
            TestCard::AuthenticationRequired.charge(false, false),
            Outcome::NeedsAuthentication
        );
        assert_eq!(
            TestCard::AuthenticationRequired.charge(true, true),
            Outcome::Approved
        );
        assert_eq!(TestCard::InsufficientFunds.setup(false), Outcome::Approved);
        assert!(matches!(
            TestCard::Declined.setup(false),
            Outcome::Declined(_)
        ));
        assert_eq!(TestCard::InsufficientFunds.last4(), "9995");
        assert_eq!(TestCard::Visa.fingerprint(), TestCard::Visa.fingerprint());
        assert_ne!(
            TestCard::Visa.fingerprint(),
            TestCard::Declined.fingerprint()
        );
    }
}
