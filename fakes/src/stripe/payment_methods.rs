//! Payment methods: `GET /v1/payment_methods/{id}`, `POST …/attach`, `POST …/detach`, and
//! the rules Stripe applies when one is attached, detached or reused.

use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde_json::json;

use super::{
    TestCard,
    errors::{ApiError, json_response},
    gate::Caller,
    model::PaymentMethod,
    params::{self, Kind, Schema},
    state::{Inner, Origin, StripeState, new_id},
};

/// Seconds in an average Gregorian year, to date test cards a few years ahead.
const YEAR_SECS: u64 = 31_556_952;

/// Why a detached payment method cannot be used again.
pub(crate) const CONSUMED: &str = "This PaymentMethod was previously used without being attached to a Customer or was detached from a Customer, and may not be used again.";

impl Inner {
    /// A new card payment method, not attached to anyone.
    pub(crate) fn new_payment_method(&mut self, card: TestCard, now_ms: u64) -> String {
        let now = now_ms / 1000;
        let id = new_id("pm");
        let year = u32::try_from(1970 + now / YEAR_SECS + 3).unwrap_or(2034);
        self.payment_methods.insert(
            id.clone(),
            PaymentMethod {
                id: id.clone(),
                created: now,
                card,
                exp_month: 12,
                exp_year: year,
                customer: None,
                metadata: Default::default(),
                consumed: false,
            },
        );
        id
    }

    /// The id a request names, with Stripe's test ids (`pm_card_visa`, …) turned into a new
    /// payment method of that card, as Stripe does in test mode.
    pub(crate) fn resolve_payment_method(
        &mut self,
        id: &str,
        param: &str,
        now_ms: u64,
    ) -> Result<String, ApiError> {
        if let Some(card) = TestCard::from_test_id(id) {
            return Ok(self.new_payment_method(card, now_ms));
        }
        let pm = self.payment_method(id, param)?;
        if pm.consumed {
            return Err(ApiError::invalid(CONSUMED).param(param));
        }
        Ok(pm.id.clone())
    }

    /// Attaches a payment method to a customer and says so with `payment_method.attached`
    /// (nothing happens if it already is theirs).
    pub(crate) fn attach(
        &mut self,
        pm_id: &str,
        customer: &str,
        origin: &Origin,
        now_ms: u64,
    ) -> Result<(), ApiError> {
        let pm = self.payment_method(pm_id, "payment_method")?;
        match pm.customer.as_deref() {
            Some(owner) if owner == customer => return Ok(()),
            Some(_) => {
                return Err(ApiError::invalid(
                    "The payment method you provided has already been attached to a customer.",
                )
                .param("payment_method"));
            }
            None if pm.consumed => {
                return Err(ApiError::invalid(CONSUMED).param("payment_method"));
            }
            None => {}
        }
        let Some(pm) = self.payment_methods.get_mut(&pm_id.to_owned()) else {
            return Err(ApiError::no_such("PaymentMethod", pm_id, "payment_method"));
        };
        pm.customer = Some(customer.to_owned());
        let object = pm.to_json();
        self.emit("payment_method.attached", object, None, origin, now_ms);
        Ok(())
    }

    /// Detaches a payment method (it cannot be used again); a customer whose default it
    /// was loses the default (`customer.updated`).
    pub(crate) fn detach(
        &mut self,
        pm_id: &str,
        origin: &Origin,
        now_ms: u64,
    ) -> Result<PaymentMethod, ApiError> {
        let pm = self
            .payment_methods
            .get_mut(&pm_id.to_owned())
            .ok_or_else(|| ApiError::no_such("PaymentMethod", pm_id, "id"))?;
        let Some(customer) = pm.customer.take() else {
            return Err(ApiError::invalid(
                "The payment method you provided is not attached to a customer so detachment is impossible.",
            )
            .param("payment_method"));
        };
        pm.consumed = true;
        let detached = pm.clone();
        self.emit(
            "payment_method.detached",
            detached.to_json(),
            Some(json!({ "customer": customer })),
            origin,
            now_ms,
        );
        if let Some(c) = self.customers.get_mut(&customer)
            && c.default_payment_method.as_deref() == Some(pm_id)
        {
            let before = c.to_json();
            c.default_payment_method = None;
            let after = c.to_json();
            let previous = super::events::previous_attributes(&before, &after);
            self.emit("customer.updated", after, previous, origin, now_ms);
        }
        Ok(detached)
    }
}

const NO_PARAMS: Schema = &[];
const ATTACH: Schema = &[("customer", Kind::Text)];

/// `GET /v1/payment_methods/{id}`.
pub(crate) async fn get(
    State(state): State<StripeState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    params::check(&caller.form, NO_PARAMS)?;
    let inner = state.lock();
    let pm = inner.payment_method(&id, "id")?;
    Ok(json_response(StatusCode::OK, &pm.to_json()))
}

/// `POST /v1/payment_methods/{id}/attach` with `customer`.
pub(crate) async fn attach(
    State(state): State<StripeState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let p = params::check(&caller.form, ATTACH)?;
    let customer = p.required("customer")?.to_owned();
    let now = state.now_ms();
    let mut inner = state.lock();
    inner.customer(&customer, "customer")?;
    let pm = if TestCard::from_test_id(&id).is_some() {
        inner.resolve_payment_method(&id, "id", now)?
    } else {
        inner.payment_method(&id, "id")?.id.clone()
    };
    inner.attach(&pm, &customer, &caller.origin(), now)?;
    let json = inner.payment_method(&pm, "id")?.to_json();
    drop(inner);
    state.wake();
    Ok(json_response(StatusCode::OK, &json))
}

/// `POST /v1/payment_methods/{id}/detach`.
pub(crate) async fn detach(
    State(state): State<StripeState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    params::check(&caller.form, NO_PARAMS)?;
    let now = state.now_ms();
    let detached = state.lock().detach(&id, &caller.origin(), now)?;
    state.wake();
    Ok(json_response(StatusCode::OK, &detached.to_json()))
}
