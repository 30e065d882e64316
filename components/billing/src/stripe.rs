//! Stripe's API v1 over Spin outbound HTTP: form-encoded requests with bracket nesting, the
//! secret key as Bearer, a pinned `Stripe-Version`, an `Idempotency-Key` on every create, and
//! a deadline. Failures come back as [`StripeFailure`], which maps to what our client sees.

use std::time::Duration;

use chatcode_core::{
    ApiError,
    stripe::{
        API_VERSION,
        failure::StripeFailure,
        form::Form,
        objects::{Customer, List, PaymentIntent, PaymentMethod, SetupIntent},
    },
};
use chatcode_kit::outbound;
use serde::de::DeserializeOwned;
use spin_sdk::http::{Method, Request};

use crate::config;

/// How long one Stripe call may take.
const TIMEOUT: Duration = Duration::from_secs(20);
/// Largest answer read into memory.
const MAX_ANSWER: usize = 4 << 20;

/// A client holding the secret key.
pub struct Stripe {
    base: String,
    key: String,
}

impl Stripe {
    /// From `stripe_secret_key` and `stripe_api_base`; 503 naming the missing variable.
    pub fn from_config() -> Result<Self, ApiError> {
        Ok(Self {
            key: config::secret_key()?,
            base: config::api_base(),
        })
    }

    /// `POST /v1/customers` for `user_id`: one customer per user even if two requests race
    /// (the idempotency key is the user's).
    pub async fn create_customer(&self, user_id: &str) -> Result<Customer, StripeFailure> {
        let form = Form::new()
            .field(&["description"], format!("chatcode user {user_id}"))
            .metadata("user_id", user_id);
        self.post("/v1/customers", &form, Some(&format!("customer-{user_id}")))
            .await
    }

    /// `GET /v1/customers/{id}`.
    pub async fn customer(&self, id: &str) -> Result<Customer, StripeFailure> {
        self.get(&format!("/v1/customers/{id}")).await
    }

    /// `POST /v1/customers/{id}` with `invoice_settings[default_payment_method]`.
    pub async fn set_default(&self, customer: &str, pm: &str) -> Result<Customer, StripeFailure> {
        let form = Form::new().field(&["invoice_settings", "default_payment_method"], pm);
        self.post(&format!("/v1/customers/{customer}"), &form, None)
            .await
    }

    /// `GET /v1/customers/{id}/payment_methods?type=card&limit=100`: the customer's cards.
    pub async fn payment_methods(
        &self,
        customer: &str,
    ) -> Result<Vec<PaymentMethod>, StripeFailure> {
        let list: List<PaymentMethod> = self
            .get(&format!(
                "/v1/customers/{customer}/payment_methods?type=card&limit=100"
            ))
            .await?;
        Ok(list.data)
    }

    /// `GET /v1/payment_methods/{id}`; `None` if Stripe has no such payment method.
    pub async fn payment_method(&self, id: &str) -> Result<Option<PaymentMethod>, StripeFailure> {
        match self.get(&format!("/v1/payment_methods/{id}")).await {
            Ok(pm) => Ok(Some(pm)),
            Err(StripeFailure::Missing) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /v1/payment_methods/{id}/detach`.
    pub async fn detach(&self, id: &str) -> Result<PaymentMethod, StripeFailure> {
        self.post(
            &format!("/v1/payment_methods/{id}/detach"),
            &Form::new(),
            None,
        )
        .await
    }

    /// `POST /v1/setup_intents`: a card saved for later off-session charges.
    pub async fn create_setup_intent(
        &self,
        customer: &str,
        user_id: &str,
        idempotency_key: &str,
    ) -> Result<SetupIntent, StripeFailure> {
        let form = Form::new()
            .field(&["customer"], customer)
            .list("payment_method_types", &["card"])
            .field(&["usage"], "off_session")
            .metadata("user_id", user_id);
        self.post("/v1/setup_intents", &form, Some(idempotency_key))
            .await
    }

    /// `POST /v1/payment_intents` with `form` (confirmed at once when it says so).
    pub async fn create_payment_intent(
        &self,
        form: &Form,
        idempotency_key: &str,
    ) -> Result<PaymentIntent, StripeFailure> {
        self.post("/v1/payment_intents", form, Some(idempotency_key))
            .await
    }

    /// `GET /v1/payment_intents/{id}`.
    pub async fn payment_intent(&self, id: &str) -> Result<PaymentIntent, StripeFailure> {
        self.get(&format!("/v1/payment_intents/{id}")).await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, StripeFailure> {
        self.call(Method::Get, path, None, None).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &Form,
        idempotency_key: Option<&str>,
    ) -> Result<T, StripeFailure> {
        self.call(Method::Post, path, Some(form), idempotency_key)
            .await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        form: Option<&Form>,
        idempotency_key: Option<&str>,
    ) -> Result<T, StripeFailure> {
        let mut builder = Request::builder();
        builder
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.key))
            .header("stripe-version", API_VERSION)
            .header("accept", "application/json");
        if form.is_some() {
            builder.header("content-type", "application/x-www-form-urlencoded");
        }
        if let Some(key) = idempotency_key {
            builder.header("idempotency-key", key);
        }
        let body = form.map(Form::encode).unwrap_or_default().into_bytes();
        let response = outbound::send(builder.body(body).build(), TIMEOUT)
            .await
            .map_err(|e| match e {
                outbound::OutboundError::Timeout => {
                    eprintln!("Stripe {path}: no answer in time");
                    StripeFailure::Timeout
                }
                outbound::OutboundError::Failed(why) => {
                    eprintln!("Stripe {path}: {why}");
                    StripeFailure::Unreachable
                }
            })?;
        let status = *response.status();
        let body = response.body();
        if !(200..300).contains(&status) {
            let failure = StripeFailure::from_response(status, body);
            if !matches!(failure, StripeFailure::Card { .. } | StripeFailure::Missing) {
                eprintln!(
                    "Stripe {path} answered {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(2048)])
                );
            }
            return Err(failure);
        }
        if body.len() > MAX_ANSWER {
            return Err(StripeFailure::Malformed);
        }
        serde_json::from_slice(body).map_err(|e| {
            eprintln!("Stripe {path}: unexpected answer: {e}");
            StripeFailure::Malformed
        })
    }
}
