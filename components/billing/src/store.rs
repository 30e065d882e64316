//! The billing component's SQL outside the ledger: usage events, purchases and the budget
//! guard. Stripe's customers, cached payment methods and handled events are in `customers`.

use chatcode_core::{
    ApiError,
    billing::{budget::BudgetSettings, purchase::PurchaseStatus},
};
use chatcode_kit::db;
use serde::Serialize;
use spin_sdk::sqlite::{Connection, QueryResult, Value};

use crate::ledger::{flag, opt_int};

const USAGE_COLUMNS: &str =
    "id, idempotency_key, model, input_tokens, output_tokens, credits_used, session_id, created_at";
const PURCHASE_COLUMNS: &str = "id, user_id, idempotency_key, package_id, credits, amount_cents, \
    currency, status, payment_intent_id, failure_code, decline_code, created_at";

/// A usage event as answers and lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// `use-…`.
    pub id: String,
    /// The caller's key for it.
    pub idempotency_key: Option<String>,
    /// The model.
    pub model: Option<String>,
    /// Input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// What it cost.
    pub credits_used: i64,
    /// The session it belongs to.
    pub session_id: Option<String>,
    /// When (unix ms).
    pub created_at: i64,
}

fn usage_row(rows: &QueryResult, row: usize) -> Option<Usage> {
    Some(Usage {
        id: db::text(rows, row, 0)?,
        idempotency_key: db::text(rows, row, 1),
        model: db::text(rows, row, 2),
        input_tokens: db::integer(rows, row, 3).unwrap_or(0),
        output_tokens: db::integer(rows, row, 4).unwrap_or(0),
        credits_used: db::integer(rows, row, 5)?,
        session_id: db::text(rows, row, 6),
        created_at: db::integer(rows, row, 7)?,
    })
}

/// `user_id`'s usage event with the caller's `key`.
pub fn usage_by_key(
    conn: &Connection,
    user_id: &str,
    key: &str,
) -> Result<Option<Usage>, ApiError> {
    let sql = format!(
        "SELECT {USAGE_COLUMNS} FROM usage_events WHERE user_id = ? AND idempotency_key = ?"
    );
    let rows = db::run(conn, &sql, &[db::t(user_id), db::t(key)])?;
    Ok(usage_row(&rows, 0))
}

/// `user_id`'s usage event `id` (another user's is none).
pub fn usage(conn: &Connection, user_id: &str, id: &str) -> Result<Option<Usage>, ApiError> {
    let sql = format!("SELECT {USAGE_COLUMNS} FROM usage_events WHERE user_id = ? AND id = ?");
    let rows = db::run(conn, &sql, &[db::t(user_id), db::t(id)])?;
    Ok(usage_row(&rows, 0))
}

/// A page of `user_id`'s usage, newest first, older than event `before`.
pub fn usage_page(
    conn: &Connection,
    user_id: &str,
    limit: i64,
    before: Option<&str>,
) -> Result<Vec<Usage>, ApiError> {
    let rows = db::page(conn, "usage_events", USAGE_COLUMNS, user_id, limit, before)?;
    Ok((0..rows.rows.len())
        .filter_map(|row| usage_row(&rows, row))
        .collect())
}

/// Records a usage event.
pub fn insert_usage(conn: &Connection, user_id: &str, usage: &Usage) -> Result<(), ApiError> {
    db::run(
        conn,
        "INSERT INTO usage_events (id, user_id, session_id, event_type, model, input_tokens, \
         output_tokens, credits_used, refunded, created_at, idempotency_key) \
         VALUES (?, ?, ?, 'usage', ?, ?, ?, ?, 0, ?, ?)",
        &[
            db::t(&usage.id),
            db::t(user_id),
            db::opt(usage.session_id.as_deref()),
            db::opt(usage.model.as_deref()),
            Value::Integer(usage.input_tokens),
            Value::Integer(usage.output_tokens),
            Value::Integer(usage.credits_used),
            Value::Integer(usage.created_at),
            db::opt(usage.idempotency_key.as_deref()),
        ],
    )?;
    Ok(())
}

/// The owner of terminal session `session_id`, if it is one.
pub fn session_owner(conn: &Connection, session_id: &str) -> Result<Option<String>, ApiError> {
    let rows = db::run(
        conn,
        "SELECT user_id FROM sessions WHERE id = ?",
        &[db::t(session_id)],
    )?;
    Ok(db::text(&rows, 0, 0))
}

/// A purchase of credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Purchase {
    /// `pur-…`.
    pub id: String,
    /// Who buys.
    #[serde(skip)]
    pub user_id: String,
    /// The caller's key.
    pub idempotency_key: String,
    /// The package bought.
    pub package_id: String,
    /// Credits it grants.
    pub credits: i64,
    /// Its price in minor units.
    pub amount_cents: i64,
    /// Its currency.
    pub currency: String,
    /// Where it stands.
    #[serde(serialize_with = "status_text")]
    pub status: PurchaseStatus,
    /// Stripe's PaymentIntent.
    pub payment_intent_id: Option<String>,
    /// The card error's code, if declined.
    pub failure_code: Option<String>,
    /// The issuer's reason, if declined.
    pub decline_code: Option<String>,
    /// When (unix ms).
    pub created_at: i64,
}

fn status_text<S: serde::Serializer>(status: &PurchaseStatus, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(status.as_str())
}

fn purchase_row(rows: &QueryResult, row: usize) -> Option<Purchase> {
    Some(Purchase {
        id: db::text(rows, row, 0)?,
        user_id: db::text(rows, row, 1)?,
        idempotency_key: db::text(rows, row, 2)?,
        package_id: db::text(rows, row, 3)?,
        credits: db::integer(rows, row, 4)?,
        amount_cents: db::integer(rows, row, 5)?,
        currency: db::text(rows, row, 6)?,
        status: PurchaseStatus::parse(&db::text(rows, row, 7)?)?,
        payment_intent_id: db::text(rows, row, 8),
        failure_code: db::text(rows, row, 9),
        decline_code: db::text(rows, row, 10),
        created_at: db::integer(rows, row, 11)?,
    })
}

fn purchase_where(
    conn: &Connection,
    clause: &str,
    params: &[Value],
) -> Result<Option<Purchase>, ApiError> {
    let sql = format!("SELECT {PURCHASE_COLUMNS} FROM purchases WHERE {clause}");
    Ok(purchase_row(&db::run(conn, &sql, params)?, 0))
}

/// `user_id`'s purchase with the caller's `key`.
pub fn purchase_by_key(
    conn: &Connection,
    user_id: &str,
    key: &str,
) -> Result<Option<Purchase>, ApiError> {
    purchase_where(
        conn,
        "user_id = ? AND idempotency_key = ?",
        &[db::t(user_id), db::t(key)],
    )
}

/// The purchase paid by PaymentIntent `pi`.
pub fn purchase_by_intent(conn: &Connection, pi: &str) -> Result<Option<Purchase>, ApiError> {
    purchase_where(conn, "payment_intent_id = ?", &[db::t(pi)])
}

/// Purchase `id`.
pub fn purchase(conn: &Connection, id: &str) -> Result<Option<Purchase>, ApiError> {
    purchase_where(conn, "id = ?", &[db::t(id)])
}

/// `user_id`'s latest purchases, newest first.
pub fn purchases(conn: &Connection, user_id: &str, limit: i64) -> Result<Vec<Purchase>, ApiError> {
    let sql = format!(
        "SELECT {PURCHASE_COLUMNS} FROM purchases WHERE user_id = ? \
         ORDER BY created_at DESC, id DESC LIMIT ?"
    );
    let rows = db::run(conn, &sql, &[db::t(user_id), Value::Integer(limit)])?;
    Ok((0..rows.rows.len())
        .filter_map(|row| purchase_row(&rows, row))
        .collect())
}

/// Records a new purchase.
pub fn insert_purchase(conn: &Connection, p: &Purchase) -> Result<(), ApiError> {
    db::run(
        conn,
        "INSERT INTO purchases (id, user_id, idempotency_key, package_id, credits, amount_cents, \
         currency, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            db::t(&p.id),
            db::t(&p.user_id),
            db::t(&p.idempotency_key),
            db::t(&p.package_id),
            Value::Integer(p.credits),
            Value::Integer(p.amount_cents),
            db::t(&p.currency),
            db::t(p.status.as_str()),
            Value::Integer(p.created_at),
            Value::Integer(p.created_at),
        ],
    )?;
    Ok(())
}

/// Moves a purchase forward: its status merged with `news` (never backwards), its
/// PaymentIntent set if it had none, failure codes kept when it ends failed.
pub fn advance_purchase(
    conn: &Connection,
    purchase: &Purchase,
    news: PurchaseStatus,
    payment_intent: Option<&str>,
    failure: Option<(&str, Option<&str>)>,
    now: i64,
) -> Result<PurchaseStatus, ApiError> {
    let status = purchase.status.merge(news);
    let (code, decline) = match failure {
        Some((code, decline)) if status == PurchaseStatus::Failed => (Some(code), decline),
        _ => (None, None),
    };
    db::run(
        conn,
        "UPDATE purchases SET status = ?, payment_intent_id = COALESCE(payment_intent_id, ?), \
         failure_code = COALESCE(?, failure_code), decline_code = COALESCE(?, decline_code), \
         updated_at = ? WHERE id = ?",
        &[
            db::t(status.as_str()),
            db::opt(payment_intent),
            db::opt(code),
            db::opt(decline),
            Value::Integer(now),
            db::t(&purchase.id),
        ],
    )?;
    Ok(status)
}

/// Sums of what take-backs of purchase `id` asked for: refunds alone, and all of them.
pub fn taken_back(conn: &Connection, purchase_id: &str) -> Result<(i64, i64), ApiError> {
    let rows = db::run(
        conn,
        "SELECT COALESCE(SUM(CASE WHEN kind = 'refund' THEN requested END), 0), \
         COALESCE(SUM(requested), 0) FROM credit_ledger \
         WHERE purchase_id = ? AND kind IN ('refund', 'dispute')",
        &[db::t(purchase_id)],
    )?;
    Ok((
        db::integer(&rows, 0, 0).unwrap_or(0),
        db::integer(&rows, 0, 1).unwrap_or(0),
    ))
}

/// The budget guard of a user whose ledger is open.
pub fn budget(conn: &Connection, user_id: &str) -> Result<BudgetSettings, ApiError> {
    let rows = db::run(
        conn,
        "SELECT budget_guard, power_off_grace_minutes FROM billing_accounts WHERE user_id = ?",
        &[db::t(user_id)],
    )?;
    Ok(BudgetSettings {
        budget_guard: db::integer(&rows, 0, 0) == Some(1),
        power_off_grace_minutes: db::integer(&rows, 0, 1),
    })
}

/// Stores a budget guard.
pub fn set_budget(
    conn: &Connection,
    user_id: &str,
    s: BudgetSettings,
    now: i64,
) -> Result<(), ApiError> {
    db::run(
        conn,
        "UPDATE billing_accounts SET budget_guard = ?, power_off_grace_minutes = ?, updated_at = ? \
         WHERE user_id = ?",
        &[
            flag(s.budget_guard),
            opt_int(s.power_off_grace_minutes),
            Value::Integer(now),
            db::t(user_id),
        ],
    )?;
    Ok(())
}

/// When a dispute froze `user_id`'s purchases, if one did.
pub fn frozen_at(conn: &Connection, user_id: &str) -> Result<Option<i64>, ApiError> {
    let rows = db::run(
        conn,
        "SELECT purchases_frozen_at FROM billing_accounts WHERE user_id = ?",
        &[db::t(user_id)],
    )?;
    Ok(db::integer(&rows, 0, 0))
}

/// Freezes `user_id`'s purchases because of `dispute` (the first freeze stays).
pub fn freeze(conn: &Connection, user_id: &str, dispute: &str, now: i64) -> Result<(), ApiError> {
    db::run(
        conn,
        "UPDATE billing_accounts SET purchases_frozen_at = COALESCE(purchases_frozen_at, ?), \
         frozen_by_dispute = COALESCE(frozen_by_dispute, ?), updated_at = ? WHERE user_id = ?",
        &[
            Value::Integer(now),
            db::t(dispute),
            Value::Integer(now),
            db::t(user_id),
        ],
    )?;
    Ok(())
}
