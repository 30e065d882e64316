//! Payment methods on Stripe: `GET /api/stripe/config`, `POST /api/stripe/setup-intent`, and
//! `GET|DELETE /api/stripe/payment-methods[/:id]`, `POST …/:id/default`.
//!
//! Stripe holds the truth; `stripe_payment_methods` is a cache rebuilt from it after every
//! change (and on webhooks), so it ends the same whatever order events come in. A customer
//! with cards and no default gets its oldest card as default, the same one whatever the order.

use chatcode_core::{
    ApiError,
    ids::is_url_safe_id,
    stripe::objects::{Card, PaymentMethod},
    time::now_ms,
    token::random_urlsafe,
};
use chatcode_kit::{Reply, caller, db, respond};
use serde::Serialize;
use serde_json::json;
use spin_sdk::{http::Request, sqlite::Connection};

use crate::{config, customers, stripe::Stripe};

/// A payment method as the console shows it.
#[derive(Debug, Serialize)]
pub struct Method {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    card: Option<Card>,
    is_default: bool,
}

/// 200 `{publishable_key}`; 503 naming `stripe_publishable_key` when it is not set.
pub fn show_config(_req: &Request) -> Reply {
    respond::json(
        200,
        &json!({ "publishable_key": config::publishable_key()? }),
    )
}

/// `user_id`'s Stripe customer, made at Stripe (and remembered) the first time.
pub async fn customer(
    conn: &Connection,
    stripe: &Stripe,
    user_id: &str,
) -> Result<String, ApiError> {
    if let Some(id) = customers::customer_of(conn, user_id)? {
        return Ok(id);
    }
    let made = stripe.create_customer(user_id).await?;
    customers::remember_customer(conn, user_id, &made.id, now_ms())?;
    customers::customer_of(conn, user_id)?.ok_or_else(ApiError::internal)
}

/// 200 `{setup_intent_id, client_secret}`: a SetupIntent (`usage=off_session`) the page
/// confirms with Stripe.js to save a card.
pub async fn setup_intent(req: Request) -> Reply {
    let caller = caller::require(&req)?;
    let stripe = Stripe::from_config()?;
    let conn = db::open()?;
    let customer = customer(&conn, &stripe, &caller.user_id).await?;
    let key = format!("seti-{}-{}", caller.user_id, random_urlsafe(12));
    let intent = stripe
        .create_setup_intent(&customer, &caller.user_id, &key)
        .await?;
    respond::json(
        200,
        &json!({ "setup_intent_id": intent.id, "client_secret": intent.client_secret }),
    )
}

/// Rebuilds `user_id`'s cached payment methods from Stripe (giving a customer with cards and
/// no default its oldest card as default); returns them as shown, newest first as Stripe
/// lists them.
pub async fn sync(
    conn: &Connection,
    stripe: &Stripe,
    user_id: &str,
    customer: &str,
) -> Result<Vec<Method>, ApiError> {
    let methods = stripe.payment_methods(customer).await?;
    let mut default = stripe
        .customer(customer)
        .await?
        .invoice_settings
        .default_payment_method;
    let listed = |id: &Option<String>, methods: &[PaymentMethod]| {
        id.as_ref()
            .is_some_and(|d| methods.iter().any(|m| &m.id == d))
    };
    // Stripe lists newest first: walking it backwards, the first of the earliest is the oldest.
    if !listed(&default, &methods)
        && let Some(oldest) = methods.iter().rev().min_by_key(|m| m.created)
    {
        let id = oldest.id.clone();
        default = stripe
            .set_default(customer, &id)
            .await?
            .invoice_settings
            .default_payment_method;
    }
    customers::replace_payment_methods(conn, user_id, &methods, default.as_deref(), now_ms())?;
    Ok(methods
        .into_iter()
        .map(|pm| Method {
            is_default: default.as_deref() == Some(pm.id.as_str()),
            id: pm.id,
            kind: pm.kind,
            card: pm.card,
        })
        .collect())
}

/// 200 `{payment_methods: [{id, type, card: {brand, last4, exp_month, exp_year}, is_default}]}`,
/// newest first, as Stripe holds them now.
pub async fn list(req: Request) -> Reply {
    let caller = caller::require(&req)?;
    let stripe = Stripe::from_config()?;
    let conn = db::open()?;
    let methods = match customers::customer_of(&conn, &caller.user_id)? {
        Some(customer) => sync(&conn, &stripe, &caller.user_id, &customer).await?,
        None => Vec::new(),
    };
    respond::json(200, &json!({ "payment_methods": methods }))
}

/// The caller's customer and the payment method `pm`, if it is attached to that customer;
/// 404 otherwise (another customer's method, or none).
async fn owned(
    conn: &Connection,
    stripe: &Stripe,
    user_id: &str,
    pm: &str,
) -> Result<String, ApiError> {
    let not_found = || ApiError::not_found("no such payment method");
    if !is_url_safe_id(pm) {
        return Err(not_found());
    }
    let customer = customers::customer_of(conn, user_id)?.ok_or_else(not_found)?;
    let found = stripe.payment_method(pm).await?.ok_or_else(not_found)?;
    if found.customer.as_deref() != Some(customer.as_str()) {
        return Err(not_found());
    }
    Ok(customer)
}

/// Detaches one of the caller's payment methods at Stripe; 204, or 404 for any other.
pub async fn remove(req: Request, pm: String) -> Reply {
    let caller = caller::require(&req)?;
    let stripe = Stripe::from_config()?;
    let conn = db::open()?;
    let customer = owned(&conn, &stripe, &caller.user_id, &pm).await?;
    stripe.detach(&pm).await?;
    sync(&conn, &stripe, &caller.user_id, &customer).await?;
    Ok(respond::no_content(None))
}

/// Makes one of the caller's payment methods the customer's
/// `invoice_settings.default_payment_method`; 200 with the list, or 404 for any other.
pub async fn make_default(req: Request, pm: String) -> Reply {
    let caller = caller::require(&req)?;
    let stripe = Stripe::from_config()?;
    let conn = db::open()?;
    let customer = owned(&conn, &stripe, &caller.user_id, &pm).await?;
    stripe.set_default(&customer, &pm).await?;
    let methods = sync(&conn, &stripe, &caller.user_id, &customer).await?;
    respond::json(200, &json!({ "payment_methods": methods }))
}
