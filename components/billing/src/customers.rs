//! Stripe's side in SQLite: each user's customer, the cache of their payment methods (rebuilt
//! from Stripe after each change), and the events already handled.

use chatcode_core::{ApiError, stripe::objects::PaymentMethod};
use chatcode_kit::db;
use spin_sdk::sqlite::{Connection, Value};

use crate::ledger::{flag, opt_int};

/// `user_id`'s Stripe customer.
pub fn customer_of(conn: &Connection, user_id: &str) -> Result<Option<String>, ApiError> {
    let rows = db::run(
        conn,
        "SELECT stripe_customer_id FROM stripe_customers WHERE user_id = ?",
        &[db::t(user_id)],
    )?;
    Ok(db::text(&rows, 0, 0))
}

/// The user whose Stripe customer is `customer` (none once the account is deleted: its cards
/// are not cached again).
pub fn user_of_customer(conn: &Connection, customer: &str) -> Result<Option<String>, ApiError> {
    let rows = db::run(
        conn,
        "SELECT c.user_id FROM stripe_customers c JOIN users u ON u.id = c.user_id \
         WHERE c.stripe_customer_id = ? AND u.deleted_at IS NULL",
        &[db::t(customer)],
    )?;
    Ok(db::text(&rows, 0, 0))
}

/// Remembers `user_id`'s customer (the first one stays).
pub fn remember_customer(
    conn: &Connection,
    user_id: &str,
    customer: &str,
    now: i64,
) -> Result<(), ApiError> {
    db::run(
        conn,
        "INSERT INTO stripe_customers (user_id, stripe_customer_id, created_at, updated_at) \
         VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING",
        &[
            db::t(user_id),
            db::t(customer),
            Value::Integer(now),
            Value::Integer(now),
        ],
    )?;
    Ok(())
}

/// The user whose cached payment methods include `pm` (none once the account is deleted).
pub fn user_of_payment_method(conn: &Connection, pm: &str) -> Result<Option<String>, ApiError> {
    let rows = db::run(
        conn,
        "SELECT m.user_id FROM stripe_payment_methods m JOIN users u ON u.id = m.user_id \
         WHERE m.stripe_payment_method_id = ? AND u.deleted_at IS NULL",
        &[db::t(pm)],
    )?;
    Ok(db::text(&rows, 0, 0))
}

/// Replaces `user_id`'s cached payment methods with what Stripe holds now, and the summary
/// of the default card on the user row.
pub fn replace_payment_methods(
    conn: &Connection,
    user_id: &str,
    methods: &[PaymentMethod],
    default: Option<&str>,
    now: i64,
) -> Result<(), ApiError> {
    db::transaction(conn, |conn| {
        db::run(
            conn,
            "DELETE FROM stripe_payment_methods WHERE user_id = ?",
            &[db::t(user_id)],
        )?;
        for pm in methods {
            let card = pm.card.as_ref();
            db::run(
                conn,
                "INSERT INTO stripe_payment_methods (stripe_payment_method_id, user_id, pm_type, \
                 brand, last4, exp_month, exp_year, is_default, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (stripe_payment_method_id) \
                 DO NOTHING",
                &[
                    db::t(&pm.id),
                    db::t(user_id),
                    db::t(&pm.kind),
                    db::opt(card.map(|c| c.brand.as_str())),
                    db::opt(card.map(|c| c.last4.as_str())),
                    opt_int(card.map(|c| c.exp_month)),
                    opt_int(card.map(|c| c.exp_year)),
                    flag(default == Some(pm.id.as_str())),
                    Value::Integer(pm.created.saturating_mul(1000)),
                    Value::Integer(now),
                ],
            )?;
        }
        let card = methods
            .iter()
            .find(|pm| default == Some(pm.id.as_str()))
            .and_then(|pm| pm.card.as_ref().map(|c| (pm, c)));
        db::run(
            conn,
            "UPDATE users SET payment_method_status = ?, payment_method_brand = ?, \
             payment_method_last4 = ?, payment_method_added_at = ?, updated_at = ? WHERE id = ?",
            &[
                db::t(if card.is_some() { "valid" } else { "none" }),
                db::opt(card.map(|(_, c)| c.brand.as_str())),
                db::opt(card.map(|(_, c)| c.last4.as_str())),
                opt_int(card.map(|(pm, _)| pm.created.saturating_mul(1000))),
                Value::Integer(now),
                db::t(user_id),
            ],
        )?;
        Ok(())
    })
}

/// Records Stripe event `id` as handled; false if it was already.
pub fn record_event(
    conn: &Connection,
    id: &str,
    kind: &str,
    created: i64,
    now: i64,
) -> Result<bool, ApiError> {
    db::run(
        conn,
        "INSERT INTO stripe_events (id, type, stripe_created, processed_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (id) DO NOTHING",
        &[
            db::t(id),
            db::t(kind),
            Value::Integer(created),
            Value::Integer(now),
        ],
    )?;
    Ok(db::changes(conn)? == 1)
}

/// Whether Stripe event `id` was handled already.
pub fn event_seen(conn: &Connection, id: &str) -> Result<bool, ApiError> {
    Ok(!db::run(
        conn,
        "SELECT 1 FROM stripe_events WHERE id = ?",
        &[db::t(id)],
    )?
    .rows
    .is_empty())
}
