//! The account component's SQL: settings, API keys, and what deleting an account removes.

use chatcode_core::{ApiError, accounts::AccountUpdate, api_key::NewKey};
use chatcode_kit::db;
use serde::Serialize;
use spin_sdk::sqlite::{Connection, Value};

const SQL_SETTINGS: &str = "SELECT id, username, email, github_username, created_at, \
    low_balance_threshold FROM users WHERE id = ? AND deleted_at IS NULL";
const SQL_USERNAME_TAKEN: &str = "SELECT 1 FROM users WHERE username = ? AND id != ?";
const SQL_SET_USERNAME: &str = "UPDATE users SET username = ?, updated_at = ? WHERE id = ?";
const SQL_SET_EMAIL: &str = "UPDATE users SET email = ?, updated_at = ? WHERE id = ?";
const SQL_SET_THRESHOLD: &str = "UPDATE users SET low_balance_threshold = ?, low_balance_warned = 0, updated_at = ? WHERE id = ?";
const SQL_KEY_COUNT: &str = "SELECT count(*) FROM api_keys WHERE user_id = ?";
const SQL_PREFIX_TAKEN: &str = "SELECT 1 FROM api_keys WHERE prefix = ?";
const SQL_INSERT_KEY: &str = "INSERT INTO api_keys \
    (id, user_id, name, prefix, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)";
const SQL_KEYS: &str = "SELECT id, prefix, name, created_at, last_used_at FROM api_keys \
    WHERE user_id = ? ORDER BY created_at DESC, id";
const SQL_DELETE_KEY: &str = "DELETE FROM api_keys WHERE id = ? AND user_id = ?";

/// What `GET /api/account` shows.
#[derive(Debug, Serialize)]
pub struct Settings {
    id: String,
    username: Option<String>,
    email: Option<String>,
    github_login: Option<String>,
    created_at: i64,
    low_balance_threshold: Option<i64>,
}

impl Settings {
    /// The username, which confirms a deletion.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }
}

/// An API key as lists show it: never the key.
#[derive(Debug, Serialize)]
pub struct KeySummary {
    pub(crate) id: String,
    prefix: String,
    name: String,
    created_at: i64,
    last_used_at: Option<i64>,
}

/// The settings of a user who is not deleted.
pub fn settings(conn: &Connection, user_id: &str) -> Result<Option<Settings>, ApiError> {
    let row = db::run(conn, SQL_SETTINGS, &[db::t(user_id)])?;
    let (Some(id), Some(created_at)) = (db::text(&row, 0, 0), db::integer(&row, 0, 4)) else {
        return Ok(None);
    };
    Ok(Some(Settings {
        id,
        username: db::text(&row, 0, 1),
        email: db::text(&row, 0, 2),
        github_login: db::text(&row, 0, 3),
        created_at,
        low_balance_threshold: db::integer(&row, 0, 5),
    }))
}

/// Whether someone other than `user_id` has `username` (a deleted account's name is freed).
pub fn username_taken(conn: &Connection, username: &str, user_id: &str) -> Result<bool, ApiError> {
    let row = db::run(conn, SQL_USERNAME_TAKEN, &[db::t(username), db::t(user_id)])?;
    Ok(!row.rows.is_empty())
}

/// Applies a validated update.
pub fn update(
    conn: &Connection,
    user_id: &str,
    update: &AccountUpdate,
    now: i64,
) -> Result<(), ApiError> {
    let now = Value::Integer(now);
    if let Some(username) = &update.username {
        db::run(
            conn,
            SQL_SET_USERNAME,
            &[db::t(username), now.clone(), db::t(user_id)],
        )?;
    }
    if let Some(email) = &update.email {
        db::run(
            conn,
            SQL_SET_EMAIL,
            &[db::opt(email.as_deref()), now.clone(), db::t(user_id)],
        )?;
    }
    if let Some(threshold) = update.low_balance_threshold {
        db::run(
            conn,
            SQL_SET_THRESHOLD,
            &[Value::Integer(threshold), now, db::t(user_id)],
        )?;
    }
    Ok(())
}

/// How many keys `user_id` holds.
pub fn key_count(conn: &Connection, user_id: &str) -> Result<i64, ApiError> {
    let row = db::run(conn, SQL_KEY_COUNT, &[db::t(user_id)])?;
    Ok(db::integer(&row, 0, 0).unwrap_or(0))
}

/// Whether a key already has `prefix`.
pub fn prefix_taken(conn: &Connection, prefix: &str) -> Result<bool, ApiError> {
    Ok(!db::run(conn, SQL_PREFIX_TAKEN, &[db::t(prefix)])?
        .rows
        .is_empty())
}

/// Stores a new key: its prefix and hash, never the key.
pub fn insert_key(
    conn: &Connection,
    id: &str,
    user_id: &str,
    name: &str,
    key: &NewKey,
    now: i64,
) -> Result<(), ApiError> {
    db::run(
        conn,
        SQL_INSERT_KEY,
        &[
            db::t(id),
            db::t(user_id),
            db::t(name),
            db::t(&key.prefix),
            db::t(&key.hash),
            Value::Integer(now),
        ],
    )?;
    Ok(())
}

/// `user_id`'s keys, newest first.
pub fn keys(conn: &Connection, user_id: &str) -> Result<Vec<KeySummary>, ApiError> {
    let rows = db::run(conn, SQL_KEYS, &[db::t(user_id)])?;
    Ok((0..rows.rows.len())
        .filter_map(|row| {
            Some(KeySummary {
                id: db::text(&rows, row, 0)?,
                prefix: db::text(&rows, row, 1)?,
                name: db::text(&rows, row, 2)?,
                created_at: db::integer(&rows, row, 3)?,
                last_used_at: db::integer(&rows, row, 4),
            })
        })
        .collect())
}

/// Deletes one of `user_id`'s keys; false if they have none with that id.
pub fn delete_key(conn: &Connection, user_id: &str, key_id: &str) -> Result<bool, ApiError> {
    db::run(conn, SQL_DELETE_KEY, &[db::t(key_id), db::t(user_id)])?;
    Ok(db::changes(conn)? > 0)
}
