//! The credits ledger in SQLite: opening a user's ledger with the signup grant, and posting
//! an entry together with the cached balance it leaves, in the caller's transaction.
//!
//! Each entry's idempotency key is unique: posting a key again returns the first entry and
//! changes nothing. The cached balance changes by a guarded `UPDATE … WHERE credits_balance
//! >= <debit>` that must change exactly one row, next to the ledger's CHECKs.

use chatcode_core::{
    ApiError, IdKind,
    billing::{
        ledger::{self, Balance, EntryKind, Insufficient, Movement, Warning},
        purchase::PaymentError,
        signup_key,
    },
    ids::new_id,
};
use chatcode_kit::db;
use serde::Serialize;
use spin_sdk::sqlite::{Connection, Value};

use crate::config;

const SQL_OPENED: &str = "SELECT 1 FROM billing_accounts WHERE user_id = ?";
const SQL_USER: &str =
    "SELECT low_balance_threshold FROM users WHERE id = ? AND deleted_at IS NULL";
const SQL_ACCOUNT: &str = "SELECT u.signup_credits, u.purchased_credits, u.low_balance_threshold, \
    u.low_balance_warned, b.zero_balance_since FROM users u \
    JOIN billing_accounts b ON b.user_id = u.id WHERE u.id = ?";
const SQL_RESET_BALANCE: &str = "UPDATE users SET signup_credits = ?, purchased_credits = 0, \
    credits_balance = ?, low_balance_warned = ?, updated_at = ? WHERE id = ?";
const SQL_OPEN_ACCOUNT: &str = "INSERT INTO billing_accounts \
    (user_id, zero_balance_since, created_at, updated_at) VALUES (?, ?, ?, ?)";
const SQL_MOVE: &str = "UPDATE users SET signup_credits = signup_credits + ?1, \
    purchased_credits = purchased_credits + ?2, credits_balance = credits_balance + ?3, \
    low_balance_warned = ?4, updated_at = ?5 \
    WHERE id = ?6 AND credits_balance >= ?7 AND signup_credits + ?1 >= 0 \
    AND purchased_credits + ?2 >= 0";
const SQL_ZERO_SINCE: &str =
    "UPDATE billing_accounts SET zero_balance_since = ?, updated_at = ? WHERE user_id = ?";
const SQL_INSERT: &str = "INSERT INTO credit_ledger (id, user_id, idempotency_key, kind, amount, \
    signup_delta, purchased_delta, requested, signup_after, purchased_after, balance_after, \
    low_balance_crossed, usage_event_id, purchase_id, payment_intent_id, charge_id, dispute_id, \
    stripe_event_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const ENTRY_COLUMNS: &str = "id, kind, amount, requested, balance_after, low_balance_crossed, \
    usage_event_id, purchase_id, payment_intent_id, charge_id, dispute_id, created_at";

/// A ledger entry as lists and answers show it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// `led-…`.
    pub id: String,
    /// `signup_grant`, `purchase`, `usage`, `refund` or `dispute`.
    pub kind: String,
    /// Signed change of the balance.
    pub amount: i64,
    /// What the rule asked for (a take-back may have found less).
    pub requested: i64,
    /// The balance after it.
    pub balance_after: i64,
    /// Whether it took the balance below the low-balance threshold.
    pub low_balance_crossed: bool,
    /// The usage event it charged.
    pub usage_event_id: Option<String>,
    /// The purchase it granted or took back.
    pub purchase_id: Option<String>,
    /// Stripe's PaymentIntent.
    pub payment_intent_id: Option<String>,
    /// Stripe's charge.
    pub charge_id: Option<String>,
    /// Stripe's dispute.
    pub dispute_id: Option<String>,
    /// When (unix ms).
    pub created_at: i64,
}

/// What an entry points at (all optional).
#[derive(Debug, Clone, Copy, Default)]
pub struct Refs<'a> {
    /// `usage_events.id`.
    pub usage_event: Option<&'a str>,
    /// `purchases.id`.
    pub purchase: Option<&'a str>,
    /// `pi_…`.
    pub payment_intent: Option<&'a str>,
    /// `ch_…`.
    pub charge: Option<&'a str>,
    /// `dp_…`.
    pub dispute: Option<&'a str>,
    /// `evt_…`.
    pub event: Option<&'a str>,
}

/// A user's balance and what the low-balance warning needs.
#[derive(Debug, Clone, Copy)]
pub struct Account {
    /// By bucket.
    pub balance: Balance,
    /// Warn below this.
    pub threshold: Option<i64>,
    /// Warned already (below since the last crossing).
    pub warned: bool,
    /// Since when the balance has been zero.
    pub zero_since: Option<i64>,
}

/// Opens `user_id`'s ledger with the signup grant if it is not open yet: existing users get
/// theirs the first time their balance is read or used. Runs its own transaction (call it
/// outside one). 401 for a user that no longer exists.
pub fn ensure_open(conn: &Connection, user_id: &str, now: i64) -> Result<(), ApiError> {
    if opened(conn, user_id)? {
        return Ok(());
    }
    let credits = config::signup_credits()?;
    db::transaction(conn, |conn| {
        if opened(conn, user_id)? {
            return Ok(());
        }
        let row = db::run(conn, SQL_USER, &[db::t(user_id)])?;
        if row.rows.is_empty() {
            return Err(ApiError::unauthorized());
        }
        let threshold = db::integer(&row, 0, 0);
        let movement = ledger::grant_signup(credits);
        let after = movement.apply(Balance::default());
        let crossed = ledger::low_balance(threshold, false, after.total()) == Warning::Crossed;
        let zero_since = ledger::zero_since(None, after.total(), now);
        db::run(
            conn,
            SQL_OPEN_ACCOUNT,
            &[
                db::t(user_id),
                opt_int(zero_since),
                Value::Integer(now),
                Value::Integer(now),
            ],
        )?;
        db::run(
            conn,
            SQL_RESET_BALANCE,
            &[
                Value::Integer(credits),
                Value::Integer(credits),
                flag(crossed),
                Value::Integer(now),
                db::t(user_id),
            ],
        )?;
        insert(
            conn,
            user_id,
            &signup_key(user_id),
            EntryKind::SignupGrant,
            movement,
            after,
            crossed,
            Refs::default(),
            now,
        )
        .map(drop)
    })
}

fn opened(conn: &Connection, user_id: &str) -> Result<bool, ApiError> {
    Ok(!db::run(conn, SQL_OPENED, &[db::t(user_id)])?
        .rows
        .is_empty())
}

/// `user_id`'s balance (their ledger must be open).
pub fn account(conn: &Connection, user_id: &str) -> Result<Account, ApiError> {
    let row = db::run(conn, SQL_ACCOUNT, &[db::t(user_id)])?;
    let (Some(signup), Some(purchased)) = (db::integer(&row, 0, 0), db::integer(&row, 0, 1)) else {
        eprintln!("billing account of {user_id} is missing");
        return Err(ApiError::internal());
    };
    Ok(Account {
        balance: Balance { signup, purchased },
        threshold: db::integer(&row, 0, 2),
        warned: db::integer(&row, 0, 3) == Some(1),
        zero_since: db::integer(&row, 0, 4),
    })
}

/// The entry with idempotency key `key`, if there is one.
pub fn find(conn: &Connection, key: &str) -> Result<Option<Entry>, ApiError> {
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM credit_ledger WHERE idempotency_key = ?");
    let rows = db::run(conn, &sql, &[db::t(key)])?;
    Ok(entry(&rows, 0))
}

/// A page of `user_id`'s entries, newest first, older than entry `before`.
pub fn list(
    conn: &Connection,
    user_id: &str,
    limit: i64,
    before: Option<&str>,
) -> Result<Vec<Entry>, ApiError> {
    let rows = db::page(conn, "credit_ledger", ENTRY_COLUMNS, user_id, limit, before)?;
    Ok((0..rows.rows.len())
        .filter_map(|row| entry(&rows, row))
        .collect())
}

fn entry(rows: &spin_sdk::sqlite::QueryResult, row: usize) -> Option<Entry> {
    Some(Entry {
        id: db::text(rows, row, 0)?,
        kind: db::text(rows, row, 1)?,
        amount: db::integer(rows, row, 2)?,
        requested: db::integer(rows, row, 3)?,
        balance_after: db::integer(rows, row, 4)?,
        low_balance_crossed: db::integer(rows, row, 5) == Some(1),
        usage_event_id: db::text(rows, row, 6),
        purchase_id: db::text(rows, row, 7),
        payment_intent_id: db::text(rows, row, 8),
        charge_id: db::text(rows, row, 9),
        dispute_id: db::text(rows, row, 10),
        created_at: db::integer(rows, row, 11)?,
    })
}

/// Posts an entry inside the caller's transaction: `rule` decides the movement from the
/// balance. A key posted before returns its first entry and changes nothing.
pub fn post(
    conn: &Connection,
    user_id: &str,
    key: &str,
    kind: EntryKind,
    refs: Refs<'_>,
    now: i64,
    rule: impl FnOnce(Balance) -> Result<Movement, ApiError>,
) -> Result<Entry, ApiError> {
    if let Some(existing) = find(conn, key)? {
        return Ok(existing);
    }
    let account = account(conn, user_id)?;
    let movement = rule(account.balance)?;
    let after = movement.apply(account.balance);
    let warning = ledger::low_balance(account.threshold, account.warned, after.total());
    let warned = match warning {
        Warning::Crossed => true,
        Warning::Cleared => false,
        Warning::Unchanged => account.warned,
    };
    db::run(
        conn,
        SQL_MOVE,
        &[
            Value::Integer(movement.signup),
            Value::Integer(movement.purchased),
            Value::Integer(movement.amount()),
            flag(warned),
            Value::Integer(now),
            db::t(user_id),
            Value::Integer(movement.debit()),
        ],
    )?;
    if db::changes(conn)? != 1 {
        // The transaction holds the write lock, so only a broken invariant gets here.
        eprintln!("guarded balance update of {user_id} changed no row");
        return Err(PaymentError::InsufficientCredits(Insufficient {
            needed: movement.debit(),
            available: account.balance.total(),
        })
        .into());
    }
    let zero_since = ledger::zero_since(account.zero_since, after.total(), now);
    if zero_since != account.zero_since {
        db::run(
            conn,
            SQL_ZERO_SINCE,
            &[opt_int(zero_since), Value::Integer(now), db::t(user_id)],
        )?;
    }
    insert(
        conn,
        user_id,
        key,
        kind,
        movement,
        after,
        warning == Warning::Crossed,
        refs,
        now,
    )
}

#[allow(clippy::too_many_arguments)]
fn insert(
    conn: &Connection,
    user_id: &str,
    key: &str,
    kind: EntryKind,
    movement: Movement,
    after: Balance,
    crossed: bool,
    refs: Refs<'_>,
    now: i64,
) -> Result<Entry, ApiError> {
    let id = new_id(IdKind::LedgerEntry);
    db::run(
        conn,
        SQL_INSERT,
        &[
            db::t(&id),
            db::t(user_id),
            db::t(key),
            db::t(kind.as_str()),
            Value::Integer(movement.amount()),
            Value::Integer(movement.signup),
            Value::Integer(movement.purchased),
            Value::Integer(movement.requested),
            Value::Integer(after.signup),
            Value::Integer(after.purchased),
            Value::Integer(after.total()),
            flag(crossed),
            db::opt(refs.usage_event),
            db::opt(refs.purchase),
            db::opt(refs.payment_intent),
            db::opt(refs.charge),
            db::opt(refs.dispute),
            db::opt(refs.event),
            Value::Integer(now),
        ],
    )?;
    Ok(Entry {
        id,
        kind: kind.as_str().to_owned(),
        amount: movement.amount(),
        requested: movement.requested,
        balance_after: after.total(),
        low_balance_crossed: crossed,
        usage_event_id: refs.usage_event.map(str::to_owned),
        purchase_id: refs.purchase.map(str::to_owned),
        payment_intent_id: refs.payment_intent.map(str::to_owned),
        charge_id: refs.charge.map(str::to_owned),
        dispute_id: refs.dispute.map(str::to_owned),
        created_at: now,
    })
}

/// An integer parameter, NULL when absent.
pub fn opt_int(value: Option<i64>) -> Value {
    value.map_or(Value::Null, Value::Integer)
}

/// A 0/1 parameter.
pub fn flag(value: bool) -> Value {
    Value::Integer(i64::from(value))
}
