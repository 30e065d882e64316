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

/// Runs `f` inside `BEGIN IMMEDIATE` … `COMMIT`, rolling back on error.
pub fn transaction<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    run(conn, "BEGIN IMMEDIATE", &[])?;
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
