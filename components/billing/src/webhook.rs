//! `POST /webhooks/stripe`: Stripe's events, verified on the raw body (`Stripe-Signature`, any
//! matching `v1`, five minutes' tolerance, constant time; 400 otherwise) and handled once per
//! event id: the event is recorded in the same transaction as what it changes, so a second
//! delivery answers 200 and does nothing.
//!
//! Handled: `setup_intent.succeeded` and `payment_method.detached` (the cached payment methods
//! are rebuilt from Stripe), `payment_intent.succeeded` (the grant, keyed by the
//! PaymentIntent), `payment_intent.payment_failed`, `charge.refunded` (a debit of the refunded
//! share) and `charge.dispute.created` (a debit, and purchases frozen). Refunds and disputes
//! grant first if the payment's own event has not come yet, so order does not matter.

use chatcode_core::{
    ApiError,
    billing::{
        dispute_key,
        ledger::{EntryKind, Paid, take_back},
        purchase::PurchaseStatus,
        refund_key,
    },
    stripe::{
        events::{Action, Event},
        objects::{Charge, Dispute, PaymentIntent},
        signature,
    },
    time::now_ms,
};
use chatcode_kit::{Reply, db, respond};
use serde_json::json;
use spin_sdk::{http::Request, sqlite::Connection};

use crate::{
    config, customers,
    ledger::{self, Refs},
    methods,
    purchase::grant,
    store::{self, Purchase},
    stripe::Stripe,
};

/// Largest event accepted.
const MAX_BODY: usize = 512 * 1024;

/// 200 `{received: true, duplicate}`; 400 for a bad signature or a body that is no event.
pub async fn receive(req: Request) -> Reply {
    let secret = config::webhook_secret()?;
    let body = req.body();
    if body.len() > MAX_BODY {
        return Err(ApiError::payload_too_large());
    }
    let header = req.header("stripe-signature").and_then(|v| v.as_str());
    signature::verify(header, body, &secret, now_ms() / 1000).map_err(|e| {
        ApiError::bad_request(format!("webhook refused: {e}")).with_code("invalid_signature")
    })?;
    let event = Event::parse(body)
        .map_err(|e| ApiError::bad_request(format!("not a Stripe event: {e}")))?;
    let conn = db::open()?;
    let fresh = if customers::event_seen(&conn, &event.id)? {
        false
    } else {
        handle(&conn, &event).await?
    };
    respond::json(200, &json!({ "received": true, "duplicate": !fresh }))
}

/// Does what the event asks; false if another delivery of it got there first.
async fn handle(conn: &Connection, event: &Event) -> Result<bool, ApiError> {
    let action = event.action().map_err(|e| {
        eprintln!("Stripe event {}: {e}", event.id);
        ApiError::bad_request(format!("malformed event: {e}"))
    })?;
    let now = now_ms();
    let only_record = |conn: &Connection| {
        db::transaction(conn, |conn| {
            customers::record_event(conn, &event.id, &event.kind, event.created, now)
        })
    };
    match action {
        Action::SyncCustomer { customer } => {
            if let Some(user_id) = customers::user_of_customer(conn, &customer)? {
                methods::sync(conn, &Stripe::from_config()?, &user_id, &customer).await?;
            }
            only_record(conn)
        }
        Action::Detached {
            payment_method,
            customer,
        } => {
            let user_id = match customers::user_of_payment_method(conn, &payment_method)? {
                Some(user) => Some(user),
                None => match &customer {
                    Some(c) => customers::user_of_customer(conn, c)?,
                    None => None,
                },
            };
            if let Some(user_id) = user_id
                && let Some(customer) = customers::customer_of(conn, &user_id)?
            {
                methods::sync(conn, &Stripe::from_config()?, &user_id, &customer).await?;
            }
            only_record(conn)
        }
        Action::Paid(pi) => paid(conn, event, &pi, now).await,
        Action::PaymentFailed(pi) => failed(conn, event, &pi, now).await,
        Action::Refunded(charge) => refunded(conn, event, &charge, now).await,
        Action::Disputed(dispute) => disputed(conn, event, &dispute, now).await,
        Action::Ignore => only_record(conn),
    }
}

/// The purchase a PaymentIntent pays: by its id, else by the `purchase_id` chatcode put in
/// its metadata (asked of Stripe when the event does not carry it). None for a payment that
/// is not a purchase of ours.
async fn purchase_of(
    conn: &Connection,
    pi: &str,
    metadata: Option<&str>,
) -> Result<Option<Purchase>, ApiError> {
    if let Some(found) = store::purchase_by_intent(conn, pi)? {
        return Ok(Some(found));
    }
    let purchase_id = match metadata {
        Some(id) => Some(id.to_owned()),
        None => Stripe::from_config()?
            .payment_intent(pi)
            .await?
            .metadata
            .get("purchase_id")
            .cloned(),
    };
    let Some(id) = purchase_id else {
        return Ok(None);
    };
    Ok(store::purchase(conn, &id)?.filter(|p| {
        p.payment_intent_id
            .as_deref()
            .is_none_or(|known| known == pi)
    }))
}

async fn paid(
    conn: &Connection,
    event: &Event,
    pi: &PaymentIntent,
    now: i64,
) -> Result<bool, ApiError> {
    let metadata = pi.metadata.get("purchase_id").map(String::as_str);
    let purchase = purchase_of(conn, &pi.id, metadata).await?;
    let purchase = purchase.filter(|p| {
        let matches = p.currency == pi.currency && pi.amount_received >= p.amount_cents;
        if !matches {
            eprintln!(
                "{} paid {} {} for purchase {} of {} {}: not granted",
                pi.id, pi.amount_received, pi.currency, p.id, p.amount_cents, p.currency
            );
        }
        matches
    });
    if let Some(p) = &purchase {
        ledger::ensure_open(conn, &p.user_id, now)?;
    }
    db::transaction(conn, |conn| {
        if !customers::record_event(conn, &event.id, &event.kind, event.created, now)? {
            return Ok(false);
        }
        if let Some(p) = &purchase {
            grant(conn, p, &pi.id, Some(&event.id), now)?;
        }
        Ok(true)
    })
}

async fn failed(
    conn: &Connection,
    event: &Event,
    pi: &PaymentIntent,
    now: i64,
) -> Result<bool, ApiError> {
    let metadata = pi.metadata.get("purchase_id").map(String::as_str);
    let purchase = purchase_of(conn, &pi.id, metadata).await?;
    let error = pi.last_payment_error.as_ref();
    let code = error.and_then(|e| e.code.as_deref());
    let news = PurchaseStatus::of_payment_intent(&pi.status, code);
    let failure = code.map(|c| (c, error.and_then(|e| e.decline_code.as_deref())));
    db::transaction(conn, |conn| {
        if !customers::record_event(conn, &event.id, &event.kind, event.created, now)? {
            return Ok(false);
        }
        if let Some(p) = &purchase {
            store::advance_purchase(conn, p, news, Some(&pi.id), failure, now)?;
        }
        Ok(true)
    })
}

/// What a refund or dispute of a purchase asks to take back, given the sums asked before.
enum TakeBack<'a> {
    Refund(&'a Charge),
    Dispute(&'a Dispute),
}

async fn refunded(
    conn: &Connection,
    event: &Event,
    charge: &Charge,
    now: i64,
) -> Result<bool, ApiError> {
    take_back_for(
        conn,
        event,
        charge.payment_intent.as_deref(),
        TakeBack::Refund(charge),
        now,
    )
    .await
}

async fn disputed(
    conn: &Connection,
    event: &Event,
    dispute: &Dispute,
    now: i64,
) -> Result<bool, ApiError> {
    take_back_for(
        conn,
        event,
        dispute.payment_intent.as_deref(),
        TakeBack::Dispute(dispute),
        now,
    )
    .await
}

/// Grants the purchase if that is still to do (a refunded or disputed charge was paid), then
/// debits what the refund or dispute asks for; a dispute also freezes purchases.
async fn take_back_for(
    conn: &Connection,
    event: &Event,
    pi: Option<&str>,
    what: TakeBack<'_>,
    now: i64,
) -> Result<bool, ApiError> {
    let purchase = match pi {
        Some(pi) => purchase_of(conn, pi, None).await?,
        None => None,
    };
    let (Some(pi), Some(purchase)) = (pi, purchase) else {
        return db::transaction(conn, |conn| {
            customers::record_event(conn, &event.id, &event.kind, event.created, now)
        });
    };
    ledger::ensure_open(conn, &purchase.user_id, now)?;
    db::transaction(conn, |conn| {
        if !customers::record_event(conn, &event.id, &event.kind, event.created, now)? {
            return Ok(false);
        }
        grant(conn, &purchase, pi, Some(&event.id), now)?;
        let paid = Paid {
            credits: purchase.credits,
            amount_cents: purchase.amount_cents,
        };
        let (refunds, all) = store::taken_back(conn, &purchase.id)?;
        let mut refs = Refs {
            purchase: Some(&purchase.id),
            payment_intent: Some(pi),
            event: Some(&event.id),
            ..Refs::default()
        };
        let (key, kind, asked) = match what {
            TakeBack::Refund(charge) => {
                refs.charge = Some(&charge.id);
                (
                    refund_key(&charge.id, charge.amount_refunded),
                    EntryKind::Refund,
                    paid.refund_request(charge.amount_refunded, refunds, all),
                )
            }
            TakeBack::Dispute(dispute) => {
                refs.charge = Some(&dispute.charge);
                refs.dispute = Some(&dispute.id);
                store::freeze(conn, &purchase.user_id, &dispute.id, now)?;
                (
                    dispute_key(&dispute.id),
                    EntryKind::Dispute,
                    paid.dispute_request(dispute.amount, all),
                )
            }
        };
        if asked > 0 {
            ledger::post(conn, &purchase.user_id, &key, kind, refs, now, |balance| {
                Ok(take_back(balance, asked))
            })?;
        }
        Ok(true)
    })
}
