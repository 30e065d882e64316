//! `POST /api/billing/credits/purchase {package_id, idempotency_key}`: charges the default card
//! with an off-session, confirmed PaymentIntent. `GET /api/billing/purchases` lists them.
//!
//! One purchase per (user, key): the row is written before Stripe is called, and Stripe's
//! `Idempotency-Key` is the purchase's, so the same key again is the same charge. Credits are
//! granted once the payment succeeds, keyed by the PaymentIntent, whether the answer, a later
//! retry or a webhook learns it first. When the bank wants authentication, the answer is 402
//! `authentication_required` with the PaymentIntent's client secret; the page confirms it
//! with Stripe.js and posts the same purchase again.

use chatcode_core::{
    ApiError, IdKind,
    billing::{
        catalog::CreditPackage,
        ledger::{EntryKind, grant_purchase},
        purchase::{PaymentError, PurchaseRequest, PurchaseStatus},
        purchase_key,
    },
    ids::new_id,
    stripe::{failure::StripeFailure, form::Form, objects::PaymentIntent},
    time::now_ms,
};
use chatcode_kit::{Reply, caller, db, respond};
use serde_json::json;
use spin_sdk::{http::Request, sqlite::Connection};

use crate::{
    config, customers,
    ledger::{self, Entry, Refs},
    store::{self, Purchase},
    stripe::Stripe,
};

/// Largest request body.
const MAX_BODY: usize = 1024;

/// 200 `{purchase, balance}` once paid; 402 with the card error or what the page needs to
/// authenticate; 403 while a dispute froze purchases; 409 without a card.
pub async fn buy(req: Request) -> Reply {
    let caller = caller::require(&req)?;
    let body: PurchaseRequest = respond::parse_body(req.body(), MAX_BODY)?;
    body.validate()?;
    let package = config::packages()?
        .into_iter()
        .find(|p| p.id == body.package_id)
        .ok_or_else(|| {
            ApiError::invalid_fields(
                [("package_id".to_owned(), "no such package".to_owned())].into(),
            )
        })?;
    let stripe = Stripe::from_config()?;
    let user_id = caller.user_id.as_str();
    let conn = db::open()?;
    ledger::ensure_open(&conn, user_id, now_ms())?;
    let purchase = db::transaction(&conn, |conn| {
        recorded(conn, user_id, &body.idempotency_key, &package)
    })?;
    match purchase.status {
        PurchaseStatus::Succeeded => answer(&conn, &purchase),
        PurchaseStatus::Failed => Err(declined(&purchase)),
        PurchaseStatus::RequiresAction => settle(&conn, &stripe, purchase).await,
        PurchaseStatus::Pending => charge(&conn, &stripe, purchase).await,
    }
}

/// The purchase with this key: the one recorded before (for the same package), or a new one.
fn recorded(
    conn: &Connection,
    user_id: &str,
    key: &str,
    package: &CreditPackage,
) -> Result<Purchase, ApiError> {
    if let Some(first) = store::purchase_by_key(conn, user_id, key)? {
        if first.package_id != package.id {
            return Err(
                ApiError::conflict("this idempotency key was used to buy another package")
                    .with_code("idempotency_conflict"),
            );
        }
        return Ok(first);
    }
    if store::frozen_at(conn, user_id)?.is_some() {
        return Err(ApiError::forbidden(
            "purchases are frozen while a payment of yours is disputed",
        )
        .with_code("purchases_frozen"));
    }
    let purchase = Purchase {
        id: new_id(IdKind::Purchase),
        user_id: user_id.to_owned(),
        idempotency_key: key.to_owned(),
        package_id: package.id.clone(),
        credits: package.credits,
        amount_cents: package.price_cents,
        currency: package.currency.clone(),
        status: PurchaseStatus::Pending,
        payment_intent_id: None,
        failure_code: None,
        decline_code: None,
        created_at: now_ms(),
    };
    store::insert_purchase(conn, &purchase)?;
    Ok(purchase)
}

/// Charges the default card, off-session and confirmed at once.
async fn charge(conn: &Connection, stripe: &Stripe, purchase: Purchase) -> Reply {
    let no_card =
        || ApiError::conflict("add a card before buying credits").with_code("no_payment_method");
    let customer = customers::customer_of(conn, &purchase.user_id)?.ok_or_else(no_card)?;
    let card = stripe
        .customer(&customer)
        .await?
        .invoice_settings
        .default_payment_method
        .ok_or_else(no_card)?;
    let form = Form::new()
        .field(&["amount"], purchase.amount_cents.to_string())
        .field(&["currency"], purchase.currency.as_str())
        .field(&["customer"], customer.as_str())
        .field(&["payment_method"], card.as_str())
        .field(&["off_session"], "true")
        .field(&["confirm"], "true")
        .field(
            &["description"],
            format!("chatcode credits: {}", purchase.package_id),
        )
        .metadata("purchase_id", purchase.id.as_str())
        .metadata("user_id", purchase.user_id.as_str())
        .metadata("package_id", purchase.package_id.as_str())
        .metadata("credits", purchase.credits.to_string());
    let key = format!("purchase-{}", purchase.id);
    match stripe.create_payment_intent(&form, &key).await {
        Ok(pi) => outcome(conn, purchase, &pi),
        Err(StripeFailure::Card {
            code,
            decline_code,
            message,
            payment_intent,
        }) => {
            let now = now_ms();
            let news = if code == "authentication_required" {
                PurchaseStatus::RequiresAction
            } else {
                PurchaseStatus::Failed
            };
            let pi = payment_intent.as_ref().map(|pi| pi.id.as_str());
            db::transaction(conn, |conn| {
                store::advance_purchase(
                    conn,
                    &purchase,
                    news,
                    pi,
                    Some((&code, decline_code.as_deref())),
                    now,
                )
            })?;
            let error: ApiError = StripeFailure::Card {
                code,
                decline_code,
                message,
                payment_intent,
            }
            .into();
            Err(error.with_detail("purchase_id", json!(purchase.id)))
        }
        Err(other) => Err(other.into()),
    }
}

/// A purchase waiting for authentication: asks Stripe how its PaymentIntent stands now.
async fn settle(conn: &Connection, stripe: &Stripe, purchase: Purchase) -> Reply {
    let Some(pi) = purchase.payment_intent_id.clone() else {
        return charge(conn, stripe, purchase).await;
    };
    let pi = stripe.payment_intent(&pi).await?;
    outcome(conn, purchase, &pi)
}

/// Records what a PaymentIntent says, granting the credits if it succeeded; answers.
fn outcome(conn: &Connection, purchase: Purchase, pi: &PaymentIntent) -> Reply {
    let error = pi.last_payment_error.as_ref();
    let news = PurchaseStatus::of_payment_intent(&pi.status, error.and_then(|e| e.code.as_deref()));
    let now = now_ms();
    let failure = error.and_then(|e| Some((e.code.as_deref()?, e.decline_code.as_deref())));
    let status = db::transaction(conn, |conn| {
        if news == PurchaseStatus::Succeeded {
            grant(conn, &purchase, &pi.id, None, now)?;
        }
        store::advance_purchase(conn, &purchase, news, Some(&pi.id), failure, now)
    })?;
    let purchase = store::purchase(conn, &purchase.id)?.ok_or_else(ApiError::internal)?;
    match status {
        PurchaseStatus::Succeeded => answer(conn, &purchase),
        PurchaseStatus::Failed => Err(declined(&purchase)),
        PurchaseStatus::RequiresAction | PurchaseStatus::Pending => {
            let error: ApiError = PaymentError::AuthenticationRequired {
                payment_intent: pi.id.clone(),
                client_secret: pi.client_secret.clone().unwrap_or_default(),
                payment_method: pi.payment_method.clone().or_else(|| {
                    error
                        .and_then(|e| e.payment_method.as_ref())
                        .map(|pm| pm.id.clone())
                }),
            }
            .into();
            Err(error.with_detail("purchase_id", json!(purchase.id)))
        }
    }
}

/// Grants a paid purchase's credits, once per PaymentIntent, inside the caller's transaction.
pub fn grant(
    conn: &Connection,
    purchase: &Purchase,
    payment_intent: &str,
    event: Option<&str>,
    now: i64,
) -> Result<Entry, ApiError> {
    let refs = Refs {
        purchase: Some(&purchase.id),
        payment_intent: Some(payment_intent),
        event,
        ..Refs::default()
    };
    let credits = purchase.credits;
    let entry = ledger::post(
        conn,
        &purchase.user_id,
        &purchase_key(payment_intent),
        EntryKind::Purchase,
        refs,
        now,
        |_| Ok(grant_purchase(credits)),
    )?;
    store::advance_purchase(
        conn,
        purchase,
        PurchaseStatus::Succeeded,
        Some(payment_intent),
        None,
        now,
    )?;
    Ok(entry)
}

/// The 402 a declined purchase answers again.
fn declined(purchase: &Purchase) -> ApiError {
    let error: ApiError = PaymentError::CardDeclined {
        code: purchase
            .failure_code
            .clone()
            .unwrap_or_else(|| "card_declined".into()),
        decline_code: purchase.decline_code.clone(),
        message: "Your card was declined.".into(),
    }
    .into();
    error.with_detail("purchase_id", json!(purchase.id))
}

fn answer(conn: &Connection, purchase: &Purchase) -> Reply {
    let balance = ledger::account(conn, &purchase.user_id)?.balance.total();
    respond::json(200, &json!({ "purchase": purchase, "balance": balance }))
}

/// 200 `{purchases: […]}`: the caller's latest 50, newest first.
pub fn list(req: &Request) -> Reply {
    let caller = caller::require(req)?;
    let conn = db::open()?;
    respond::json(
        200,
        &json!({ "purchases": store::purchases(&conn, &caller.user_id, 50)? }),
    )
}
