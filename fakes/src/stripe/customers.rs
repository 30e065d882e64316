//! Customers: `POST /v1/customers`, `GET` and `POST /v1/customers/{id}`, and
//! `GET /v1/customers/{id}/payment_methods` (a list object, newest first).

use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde_json::{Value, json};

use super::{
    errors::{ApiError, json_response},
    events::previous_attributes,
    gate::Caller,
    model::Customer,
    params::{self, Kind, Params, Schema},
    state::{StripeState, new_id},
};

const INVOICE_SETTINGS: Schema = &[("default_payment_method", Kind::Text)];
const CREATE: Schema = &[
    ("description", Kind::Text),
    ("email", Kind::Text),
    ("invoice_settings", Kind::Hash(INVOICE_SETTINGS)),
    ("metadata", Kind::Metadata),
    ("name", Kind::Text),
    ("payment_method", Kind::Text),
    ("phone", Kind::Text),
];
const UPDATE: Schema = &[
    ("description", Kind::Text),
    ("email", Kind::Text),
    ("invoice_settings", Kind::Hash(INVOICE_SETTINGS)),
    ("metadata", Kind::Metadata),
    ("name", Kind::Text),
    ("phone", Kind::Text),
];
const NO_PARAMS: Schema = &[];
const LIST: Schema = &[
    ("ending_before", Kind::Text),
    ("limit", Kind::Int),
    ("starting_after", Kind::Text),
    ("type", Kind::Text),
];
/// Payment method types a list may be filtered by (the fake only holds cards).
const PM_TYPES: &[&str] = &["card", "link", "sepa_debit", "us_bank_account", "paypal"];
const DEFAULT_PM: &str = "invoice_settings[default_payment_method]";

/// Stripe's check of `email`: one `@` with something on both sides, no spaces.
fn check_email(p: &Params<'_>) -> Result<(), ApiError> {
    if let Some(email) = p.text(&["email"]) {
        let ok = matches!(email.split_once('@'), Some((a, b)) if !a.is_empty() && b.contains('.') && !b.contains('@'))
            && !email.contains(char::is_whitespace);
        if !ok {
            return Err(ApiError::invalid(format!("Invalid email address: {email}"))
                .code("email_invalid")
                .param("email")
                .unsaved());
        }
    }
    Ok(())
}

/// `POST /v1/customers`.
pub(crate) async fn create(
    State(state): State<StripeState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let p = params::check(&caller.form, CREATE)?;
    check_email(&p)?;
    let now = state.now_ms();
    let origin = caller.origin();
    let mut inner = state.lock();
    let pm = match p.text(&["payment_method"]) {
        Some(id) => Some(inner.resolve_payment_method(id, "payment_method", now)?),
        None => None,
    };
    if let Some(pm) = &pm
        && inner
            .payment_method(pm, "payment_method")?
            .customer
            .is_some()
    {
        return Err(ApiError::invalid(
            "The payment method you provided has already been attached to a customer.",
        )
        .param("payment_method"));
    }
    let default = p.text(&["invoice_settings", "default_payment_method"]);
    if let Some(default) = default
        && p.text(&["payment_method"]) != Some(default)
    {
        inner.payment_method(default, DEFAULT_PM)?;
        return Err(not_attached(default));
    }
    let mut customer = Customer {
        id: new_id("cus"),
        created: now / 1000,
        email: p.text(&["email"]).map(str::to_owned),
        name: p.text(&["name"]).map(str::to_owned),
        description: p.text(&["description"]).map(str::to_owned),
        phone: p.text(&["phone"]).map(str::to_owned),
        metadata: Default::default(),
        default_payment_method: None,
    };
    p.apply_metadata(&mut customer.metadata);
    inner
        .customers
        .insert(customer.id.clone(), customer.clone());
    inner.emit("customer.created", customer.to_json(), None, &origin, now);
    if let Some(pm) = &pm {
        inner.attach(pm, &customer.id, &origin, now)?;
        if default.is_some() {
            let before = customer.to_json();
            customer.default_payment_method = Some(pm.clone());
            inner
                .customers
                .insert(customer.id.clone(), customer.clone());
            let after = customer.to_json();
            let previous = previous_attributes(&before, &after);
            inner.emit("customer.updated", after, previous, &origin, now);
        }
    }
    drop(inner);
    state.wake();
    Ok(json_response(StatusCode::OK, &customer.to_json()))
}

fn not_attached(pm: &str) -> ApiError {
    ApiError::invalid(format!("The customer does not have a payment method with the ID {pm}. The payment method must be attached to the customer."))
        .code("resource_missing")
        .param(DEFAULT_PM)
}

/// `GET /v1/customers/{id}`.
pub(crate) async fn get(
    State(state): State<StripeState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    params::check(&caller.form, NO_PARAMS)?;
    let json = state.lock().customer(&id, "id")?.to_json();
    Ok(json_response(StatusCode::OK, &json))
}

/// `POST /v1/customers/{id}`: changes what was sent; an empty value unsets.
pub(crate) async fn update(
    State(state): State<StripeState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let p = params::check(&caller.form, UPDATE)?;
    check_email(&p)?;
    let now = state.now_ms();
    let mut inner = state.lock();
    let mut customer = inner.customer(&id, "id")?.clone();
    if let Some(Some(pm)) = p.change(&["invoice_settings", "default_payment_method"]) {
        let owner = inner.payment_method(&pm, DEFAULT_PM)?.customer.clone();
        if owner.as_deref() != Some(id.as_str()) {
            return Err(not_attached(&pm));
        }
    }
    let before = customer.to_json();
    for (name, field) in [
        ("email", &mut customer.email),
        ("name", &mut customer.name),
        ("description", &mut customer.description),
        ("phone", &mut customer.phone),
    ] {
        if let Some(value) = p.change(&[name]) {
            *field = value;
        }
    }
    if let Some(value) = p.change(&["invoice_settings", "default_payment_method"]) {
        customer.default_payment_method = value;
    }
    p.apply_metadata(&mut customer.metadata);
    let after = customer.to_json();
    if let Some(previous) = previous_attributes(&before, &after) {
        inner.customers.insert(id, customer);
        inner.emit(
            "customer.updated",
            after.clone(),
            Some(previous),
            &caller.origin(),
            now,
        );
    }
    drop(inner);
    state.wake();
    Ok(json_response(StatusCode::OK, &after))
}

/// `GET /v1/customers/{id}/payment_methods[?type=&limit=&starting_after=&ending_before=]`.
pub(crate) async fn payment_methods(
    State(state): State<StripeState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let p = params::check(&caller.form, LIST)?;
    let kind = p.text(&["type"]);
    if let Some(kind) = kind
        && !PM_TYPES.contains(&kind)
    {
        return Err(ApiError::invalid(format!(
            "Invalid type: must be one of {}",
            PM_TYPES.join(", ")
        ))
        .param("type")
        .unsaved());
    }
    let limit = p.int(&["limit"]).unwrap_or(10);
    if !(1..=100).contains(&limit) {
        let bound = if limit < 1 {
            "greater than or equal to 1"
        } else {
            "less than or equal to 100"
        };
        return Err(ApiError::invalid(format!("This value must be {bound}."))
            .param("limit")
            .unsaved());
    }
    let inner = state.lock();
    inner.customer(&id, "id")?;
    // Newest first, as every Stripe list.
    let mut all: Vec<Value> = inner
        .payment_methods
        .values()
        .filter(|pm| pm.customer.as_deref() == Some(id.as_str()))
        .filter(|_| kind.is_none_or(|k| k == "card"))
        .map(|pm| pm.to_json())
        .collect();
    all.reverse();
    let position = |cursor: &str, param: &str| {
        all.iter()
            .position(|pm| pm["id"] == cursor)
            .ok_or_else(|| ApiError::no_such("PaymentMethod", cursor, param))
    };
    let limit = usize::try_from(limit).unwrap_or(10);
    let (data, has_more): (Vec<Value>, bool) =
        match (p.text(&["starting_after"]), p.text(&["ending_before"])) {
            (Some(after), _) => {
                let rest = &all[position(after, "starting_after")? + 1..];
                (
                    rest.iter().take(limit).cloned().collect(),
                    rest.len() > limit,
                )
            }
            (None, Some(before)) => {
                let end = position(before, "ending_before")?;
                let start = end.saturating_sub(limit);
                (all[start..end].to_vec(), start > 0)
            }
            (None, None) => (all.iter().take(limit).cloned().collect(), all.len() > limit),
        };
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "object": "list",
            "data": data,
            "has_more": has_more,
            "url": format!("/v1/customers/{id}/payment_methods"),
        }),
    ))
}
