//! API keys as credentials: finding the key a request presents (by its prefix, then its hash
//! in constant time) and noting when it was last used. Creating, listing and revoking keys is
//! the `account` component's.

use chatcode_core::{ApiError, api_key, time::now_ms};
use spin_sdk::sqlite::{Connection, Value};

use crate::db;

const SQL_FIND: &str = "SELECT k.id, k.user_id, k.key_hash, k.last_used_at FROM api_keys k \
    JOIN users u ON u.id = k.user_id WHERE k.prefix = ? AND u.deleted_at IS NULL";
const SQL_TOUCH: &str = "UPDATE api_keys SET last_used_at = ? WHERE id = ?";

/// `last_used_at` is written at most this often, so reads are not all writes.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// A key that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// `api_keys.id`.
    pub id: String,
    /// Its owner.
    pub user_id: String,
}

/// The key `key` is, if it is one of ours and not revoked.
pub fn authenticate(conn: &Connection, key: &str) -> Result<Option<Found>, ApiError> {
    let Some(prefix) = api_key::prefix_of(key) else {
        return Ok(None);
    };
    let rows = db::run(conn, SQL_FIND, &[db::t(prefix)])?;
    let (Some(id), Some(user_id), Some(hash)) = (
        db::text(&rows, 0, 0),
        db::text(&rows, 0, 1),
        db::text(&rows, 0, 2),
    ) else {
        return Ok(None);
    };
    if !api_key::matches(key, &hash) {
        return Ok(None);
    }
    let now = now_ms();
    if db::integer(&rows, 0, 3).is_none_or(|at| now - at >= TOUCH_EVERY_MS) {
        db::run(conn, SQL_TOUCH, &[Value::Integer(now), db::t(&id)])?;
    }
    Ok(Some(Found { id, user_id }))
}
