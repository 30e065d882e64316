//! SQLite helpers: open, run with logging, read columns, transactions.

use chatcode_core::ApiError;
use spin_sdk::sqlite::{Connection, QueryResult, Value};

/// Opens the `default` database.
pub fn open() -> Result<Connection, ApiError> {
    Connection::open_default().map_err(|e| {
        eprintln!("opening the database: {e:?}");
        ApiError::service_unavailable()
    })
}

/// Runs one statement; failures are logged and answered as internal errors.
pub fn run(conn: &Connection, sql: &str, params: &[Value]) -> Result<QueryResult, ApiError> {
    conn.execute(sql, params).map_err(|e| {
        eprintln!("SQL failed: {e:?}: {sql}");
        ApiError::internal()
    })
}

/// How many times `BEGIN IMMEDIATE` is tried while another writer holds the database (each
/// try already waits the host's busy timeout: five seconds on the embedded runtime).
const BEGIN_ATTEMPTS: u32 = 4;

/// Runs `f` inside `BEGIN IMMEDIATE` … `COMMIT`, rolling back on error.
///
/// While other requests hold the write lock (a burst of writes to one user's balance, say),
/// beginning is tried again; a database still locked after that is 503 with `Retry-After`,
/// never a 500.
pub fn transaction<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    begin(conn)?;
    match f(conn) {
        Ok(value) => {
            run(conn, "COMMIT", &[])?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = conn.execute("ROLLBACK", &[]) {
                eprintln!("ROLLBACK failed: {rollback:?}");
            }
            Err(e)
        }
    }
}

fn begin(conn: &Connection) -> Result<(), ApiError> {
    let mut attempt = 1;
    loop {
        match conn.execute("BEGIN IMMEDIATE", &[]) {
            Ok(_) => return Ok(()),
            Err(e) if is_locked(&e) && attempt < BEGIN_ATTEMPTS => attempt += 1,
            Err(e) if is_locked(&e) => {
                eprintln!("BEGIN IMMEDIATE: still locked after {attempt} tries: {e:?}");
                return Err(ApiError::service_unavailable().with_retry_after(1));
            }
            Err(e) => {
                eprintln!("SQL failed: {e:?}: BEGIN IMMEDIATE");
                return Err(ApiError::internal());
            }
        }
    }
}

/// Whether SQLite said another connection holds the lock (`SQLITE_BUSY`/`SQLITE_LOCKED`).
fn is_locked(e: &spin_sdk::sqlite::Error) -> bool {
    matches!(e, spin_sdk::sqlite::Error::Io(why) if why.contains("locked") || why.contains("busy"))
}

/// A page of `user_id`'s rows of `table` (`columns` of them), newest first by `created_at`
/// then `id`, older than the user's row `before`: keyset paging, so rows added meanwhile never
/// shift a page. A `before` that is not the user's row gives an empty page.
pub fn page(
    conn: &Connection,
    table: &str,
    columns: &str,
    user_id: &str,
    limit: i64,
    before: Option<&str>,
) -> Result<QueryResult, ApiError> {
    let sql = format!(
        "SELECT {columns} FROM {table} WHERE user_id = ?1 AND (?2 IS NULL OR \
         (created_at, id) < (SELECT created_at, id FROM {table} WHERE id = ?2 AND user_id = ?1)) \
         ORDER BY created_at DESC, id DESC LIMIT ?3"
    );
    run(
        conn,
        &sql,
        &[t(user_id), opt(before), Value::Integer(limit)],
    )
}

/// Rows changed by the connection's last `INSERT`, `UPDATE` or `DELETE`.
pub fn changes(conn: &Connection) -> Result<i64, ApiError> {
    let row = run(conn, "SELECT changes()", &[])?;
    Ok(integer(&row, 0, 0).unwrap_or(0))
}

/// The text in column `index` of row `row`, if any.
pub fn text(result: &QueryResult, row: usize, index: usize) -> Option<String> {
    result.rows.get(row)?.get::<&str>(index).map(str::to_string)
}

/// The integer in column `index` of row `row`, if any.
pub fn integer(result: &QueryResult, row: usize, index: usize) -> Option<i64> {
    result.rows.get(row)?.get::<i64>(index)
}

/// A text parameter.
pub fn t(value: &str) -> Value {
    Value::Text(value.to_string())
}

/// An optional text parameter (NULL when absent).
pub fn opt(value: Option<&str>) -> Value {
    value.map_or(Value::Null, t)
}
