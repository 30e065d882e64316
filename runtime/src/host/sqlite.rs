//! `fermyon:spin/sqlite@2.0.0` on the `default` database: a SQLite file, or a libSQL server
//! when the runtime config says so.
//!
//! Each `connection` resource owns its own pooled SQLite connection (taken on first use) or
//! its own libSQL stream, so `BEGIN … COMMIT` across `execute` calls is that guest's own
//! transaction; an unfinished one is rolled back when the resource goes away.

use std::sync::{Arc, Mutex};

use rusqlite::types::{ToSqlOutput, ValueRef};
use wasmtime::component::Resource;

use super::{
    RequestState,
    bindings::sqlite::{self, Error, QueryResult, RowResult, Value},
};
use crate::{
    libsql::{Libsql, Stream},
    storage::{Pool, Pooled},
    stores::Database,
};

/// The most connections one request may hold open at once.
const MAX_OPEN_CONNECTIONS: usize = 64;

/// The host side of an open `connection` resource.
#[derive(Debug, Clone)]
pub enum ConnectionHandle {
    /// A connection to the SQLite file.
    Local(LocalConnection),
    /// A stream on the libSQL server. A Tokio mutex: a statement holds the stream across the
    /// request to the server, and the next must wait for its baton.
    Remote(Arc<Libsql>, Arc<tokio::sync::Mutex<Stream>>),
}

/// A pooled SQLite connection, taken on first use.
#[derive(Debug, Clone)]
pub struct LocalConnection {
    pool: Pool,
    conn: Arc<Mutex<Option<Pooled>>>,
}

impl LocalConnection {
    /// Runs `f` on this handle's pooled connection, taking one from the pool on first use.
    fn with_connection<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, Error> {
        let mut slot = self.conn.lock().map_err(|_| Error::InvalidConnection)?;
        if slot.is_none() {
            *slot = Some(self.pool.get().map_err(|e| Error::Io(e.to_string()))?);
        }
        let conn = slot.as_mut().ok_or(Error::InvalidConnection)?;
        f(conn).map_err(|e| Error::Io(e.to_string()))
    }

    /// Runs `statement` on the calling thread when it is a plain read outside a transaction (a
    /// read of a local WAL database never waits for writers and takes microseconds, less than
    /// a trip to another thread); `None` when it must run off the request thread: writes wait
    /// for `fsync`, and `COMMIT` or `BEGIN IMMEDIATE` count as reads to SQLite but may wait too.
    fn read_inline(
        &self,
        statement: &str,
        parameters: &[Value],
    ) -> Option<Result<QueryResult, Error>> {
        if is_transaction_control(statement) {
            return None;
        }
        // One lock and one statement-cache lookup: the check and the read share them. An error
        // here (no connection, a statement that does not prepare) is the one the blocking path
        // would report.
        self.with_connection(|conn| {
            if !(conn.is_autocommit() && conn.prepare_cached(statement)?.readonly()) {
                return Ok(None);
            }
            execute(conn, statement, parameters).map(Some)
        })
        .transpose()
    }
}

/// Whether `statement` begins, ends or marks a transaction.
fn is_transaction_control(statement: &str) -> bool {
    let first = statement
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default();
    ["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"]
        .iter()
        .any(|keyword| first.eq_ignore_ascii_case(keyword))
}

impl sqlite::Host for RequestState {}

impl sqlite::HostConnection for RequestState {
    async fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<ConnectionHandle>, Error>> {
        if !self.component.sqlite_allowed || database != crate::manifest::DEFAULT_LABEL {
            return Ok(Err(Error::AccessDenied));
        }
        if self.open_connections >= MAX_OPEN_CONNECTIONS {
            return Ok(Err(Error::Io(format!(
                "too many open connections (at most {MAX_OPEN_CONNECTIONS} per request)"
            ))));
        }
        self.open_connections += 1;
        let handle = match &self.stores.database {
            Database::Sqlite(pool) => ConnectionHandle::Local(LocalConnection {
                pool: pool.clone(),
                conn: Arc::new(Mutex::new(None)),
            }),
            Database::Libsql(libsql) => ConnectionHandle::Remote(
                libsql.clone(),
                Arc::new(tokio::sync::Mutex::new(Stream::default())),
            ),
        };
        Ok(Ok(self.table.push(handle)?))
    }

    async fn execute(
        &mut self,
        connection: Resource<ConnectionHandle>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        let handle = match self.table.get(&connection)?.clone() {
            ConnectionHandle::Local(handle) => handle,
            ConnectionHandle::Remote(libsql, stream) => {
                let mut stream = stream.lock().await;
                return Ok(libsql
                    .execute(&mut stream, &statement, &parameters)
                    .await
                    .map_err(Error::Io));
            }
        };
        if let Some(read) = handle.read_inline(&statement, &parameters) {
            return Ok(read);
        }
        let result = tokio::task::spawn_blocking(move || {
            handle.with_connection(|conn| execute(conn, &statement, &parameters))
        })
        .await;
        Ok(result.unwrap_or_else(|e| Err(Error::Io(format!("query task failed: {e}")))))
    }

    fn drop(&mut self, connection: Resource<ConnectionHandle>) -> wasmtime::Result<()> {
        if let ConnectionHandle::Remote(libsql, stream) = self.table.delete(connection)?
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            // The server rolls back what the stream left open once it is closed (or expires).
            runtime.spawn(async move { libsql.close(&mut *stream.lock().await).await });
        }
        self.open_connections = self.open_connections.saturating_sub(1);
        Ok(())
    }
}

fn execute(
    conn: &rusqlite::Connection,
    statement: &str,
    parameters: &[Value],
) -> rusqlite::Result<QueryResult> {
    let mut stmt = conn.prepare_cached(statement)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
    let params = rusqlite::params_from_iter(parameters.iter().map(to_sql));
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let values = (0..columns.len())
            .map(|i| row.get_ref(i).map(from_sql))
            .collect::<rusqlite::Result<_>>()?;
        out.push(RowResult { values });
    }
    Ok(QueryResult { columns, rows: out })
}

/// Binds a guest value without copying it.
fn to_sql(value: &Value) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(match value {
        Value::Integer(i) => ValueRef::Integer(*i),
        Value::Real(f) => ValueRef::Real(*f),
        Value::Text(s) => ValueRef::Text(s.as_bytes()),
        Value::Blob(b) => ValueRef::Blob(b),
        Value::Null => ValueRef::Null,
    })
}

fn from_sql(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::is_transaction_control;

    #[test]
    fn transaction_control_is_recognised_in_any_case_and_spacing() {
        for statement in [
            "BEGIN",
            "  begin immediate",
            "Commit;",
            "END TRANSACTION",
            "ROLLBACK TO sp",
            "savepoint sp",
            "\nRELEASE sp",
        ] {
            assert!(is_transaction_control(statement), "{statement:?}");
        }
        for statement in ["SELECT 1", "INSERT INTO t VALUES (1)", "BEGINNER", ""] {
            assert!(!is_transaction_control(statement), "{statement:?}");
        }
    }
}
