//! What a failed Stripe call means for chatcode's client, mapped in one place: card errors are
//! 402 with their code and decline code (or the PaymentIntent to confirm on-session), Stripe's
//! 429 is 503, its 5xx or no answer 502; anything else is our mistake, logged and 502.

use std::borrow::Cow;

use super::objects::{ErrorBody, PaymentIntent};
use crate::{ApiError, ErrorKind, billing::purchase::PaymentError};

/// Why a Stripe call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StripeFailure {
    /// No answer in time.
    Timeout,
    /// The connection failed.
    Unreachable,
    /// 402 `card_error`: declined, or authentication required.
    Card {
        /// `card_declined`, `authentication_required`, `expired_card`, …
        code: String,
        /// The issuer's reason.
        decline_code: Option<String>,
        /// Stripe's message for the customer.
        message: String,
        /// The PaymentIntent the attempt left behind.
        payment_intent: Option<Box<PaymentIntent>>,
    },
    /// 429: too many requests (or a lock timeout).
    RateLimited,
    /// 5xx.
    Server(u16),
    /// `idempotency_error`: a key reused with other parameters, or (`in_progress`) while the
    /// first request with it is still running.
    Idempotency {
        /// 409: the first request is still running.
        in_progress: bool,
    },
    /// 404 `resource_missing`: no such object.
    Missing,
    /// Any other refusal (a bad request, a bad key): our bug or our configuration.
    Rejected {
        /// The HTTP status.
        status: u16,
        /// Stripe's code, if any.
        code: Option<String>,
        /// Stripe's message.
        message: String,
    },
    /// A success whose body is not the documented JSON.
    Malformed,
}

impl StripeFailure {
    /// The failure a non-2xx answer stands for.
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        let detail = serde_json::from_slice::<ErrorBody>(body)
            .ok()
            .map(|b| b.error);
        let kind = detail.as_ref().map_or("", |d| d.kind.as_str());
        match (status, kind) {
            (_, "card_error") | (402, _) => {
                let detail = detail.unwrap_or_else(|| super::objects::ErrorDetail {
                    kind: "card_error".into(),
                    code: None,
                    decline_code: None,
                    message: None,
                    payment_intent: None,
                });
                StripeFailure::Card {
                    code: detail.code.unwrap_or_else(|| "card_declined".into()),
                    decline_code: detail.decline_code,
                    message: detail
                        .message
                        .unwrap_or_else(|| "Your card was declined.".into()),
                    payment_intent: detail.payment_intent.map(Box::new),
                }
            }
            (429, _) => StripeFailure::RateLimited,
            (500.., _) => StripeFailure::Server(status),
            (_, "idempotency_error") => StripeFailure::Idempotency {
                in_progress: status == 409,
            },
            (404, _) => StripeFailure::Missing,
            _ => {
                let detail = detail.as_ref();
                StripeFailure::Rejected {
                    status,
                    code: detail.and_then(|d| d.code.clone()),
                    message: detail
                        .and_then(|d| d.message.clone())
                        .unwrap_or_else(|| format!("HTTP {status}")),
                }
            }
        }
    }
}

impl From<StripeFailure> for ApiError {
    fn from(failure: StripeFailure) -> Self {
        let upstream =
            |why: Cow<'static, str>| ApiError::new(ErrorKind::BadGateway, format!("Stripe: {why}"));
        match failure {
            StripeFailure::Card {
                code,
                payment_intent: Some(pi),
                ..
            } if code == "authentication_required" => {
                let payment_method = pi.payment_method.clone().or_else(|| {
                    pi.last_payment_error
                        .as_ref()
                        .and_then(|e| e.payment_method.as_ref())
                        .map(|pm| pm.id.clone())
                });
                PaymentError::AuthenticationRequired {
                    client_secret: pi.client_secret.clone().unwrap_or_default(),
                    payment_intent: pi.id.clone(),
                    payment_method,
                }
                .into()
            }
            StripeFailure::Card {
                code,
                decline_code,
                message,
                ..
            } => PaymentError::CardDeclined {
                code,
                decline_code,
                message,
            }
            .into(),
            StripeFailure::RateLimited => ApiError::new(
                ErrorKind::ServiceUnavailable,
                "Stripe is rate limiting requests; retry shortly",
            )
            .with_retry_after(2),
            StripeFailure::Server(status) => upstream(format!("failed (HTTP {status})").into()),
            StripeFailure::Timeout => upstream("no answer in time".into()),
            StripeFailure::Unreachable => upstream("unreachable".into()),
            StripeFailure::Malformed => upstream("unexpected answer".into()),
            StripeFailure::Idempotency { in_progress: true } => ApiError::conflict(
                "another request with this idempotency key is still running; retry shortly",
            )
            .with_code("idempotency_in_progress"),
            StripeFailure::Idempotency { in_progress: false } => {
                ApiError::conflict("this idempotency key was used for a different request")
                    .with_code("idempotency_conflict")
            }
            StripeFailure::Missing => upstream("no such object".into()),
            StripeFailure::Rejected { status, .. } => {
                upstream(format!("refused the request (HTTP {status})").into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn api(status: u16, body: Value) -> ApiError {
        StripeFailure::from_response(status, body.to_string().as_bytes()).into()
    }

    #[test]
    fn card_errors_are_402_with_the_decline_code() {
        let err = api(
            402,
            json!({"error": {"type": "card_error", "code": "card_declined",
                "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}}),
        );
        assert_eq!((err.status(), err.code()), (402, "card_declined"));
        assert_eq!(err.details["decline_code"], "insufficient_funds");
        assert_eq!(err.message, "Your card has insufficient funds.");
    }

    #[test]
    fn authentication_required_carries_the_payment_intent() {
        let err = api(
            402,
            json!({"error": {"type": "card_error", "code": "authentication_required",
                "decline_code": "authentication_required", "message": "…",
                "payment_intent": {"id": "pi_1", "status": "requires_payment_method",
                    "client_secret": "pi_1_secret_2",
                    "last_payment_error": {"code": "authentication_required",
                        "payment_method": {"id": "pm_1", "object": "payment_method"}}}}}),
        );
        assert_eq!((err.status(), err.code()), (402, "authentication_required"));
        assert_eq!(
            err.details["payment_intent"],
            json!({"id": "pi_1", "client_secret": "pi_1_secret_2", "payment_method": "pm_1"})
        );
    }

    #[test]
    fn stripe_trouble_maps_to_503_and_502() {
        let limited = api(
            429,
            json!({"error": {"type": "invalid_request_error", "code": "rate_limit"}}),
        );
        assert_eq!(limited.status(), 503);
        assert!(limited.retry_after.is_some());
        assert_eq!(
            api(500, json!({"error": {"type": "api_error"}})).status(),
            502
        );
        assert_eq!(api(503, json!("not even an error")).status(), 502);
        let bad_key = api(
            401,
            json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_***"}}),
        );
        assert_eq!(bad_key.status(), 502);
        assert!(!bad_key.message.contains("sk_test"), "{}", bad_key.message);
        assert_eq!(
            api(400, json!({"error": {"type": "idempotency_error"}})).code(),
            "idempotency_conflict"
        );
        assert_eq!(
            api(409, json!({"error": {"type": "idempotency_error"}})).code(),
            "idempotency_in_progress"
        );
        assert_eq!(
            StripeFailure::from_response(
                404,
                br#"{"error":{"type":"invalid_request_error","code":"resource_missing"}}"#
            ),
            StripeFailure::Missing
        );
        assert_eq!(ApiError::from(StripeFailure::Timeout).status(), 502);
    }
}
