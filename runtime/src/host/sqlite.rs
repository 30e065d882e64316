//! `fermyon:spin/sqlite@2.0.0` on the `default` database: a SQLite file, or a libSQL server
//! when the runtime config says so.
//!
//! Each `connection` resource owns its own pooled SQLite connection (taken on first use) or
//! its own libSQL stream, so `BEGIN … COMMIT` across `execute` calls is that guest's own
//! transaction; an unfinished one is rolled back when the resource goes away. On a SQLite
//! file, everything but a plain read outside a transaction runs on the file's writer thread
//! ([`crate::writer`]), in the order it came; a transaction keeps the writer from `BEGIN`
//! until the connection is back in autocommit.

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
    timing::HostCall,
    writer::{Owner, Writer},
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

/// A pooled SQLite connection, taken on first use; everything but a plain read outside a
/// transaction runs on the file's writer thread.
#[derive(Debug, Clone)]
pub struct LocalConnection {
    pool: Pool,
    slot: Arc<Mutex<Slot>>,
}

/// The connection itself, and who it is to the file's writer.
#[derive(Debug)]
struct Slot {
    conn: Option<Pooled>,
    writer: Writer,
    owner: Owner,
}

impl LocalConnection {
    fn new(pool: &Pool) -> Self {
        let writer = pool.writer().clone();
        let owner = writer.new_owner();
        Self {
            pool: pool.clone(),
            slot: Arc::new(Mutex::new(Slot {
                conn: None,
                writer,
                owner,
            })),
        }
    }

    /// Runs `f` on this handle's pooled connection, taking one from the pool on first use;
    /// also says whether the connection is left inside a transaction.
    fn with_connection<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> (Result<T, Error>, bool) {
        let Ok(mut slot) = self.slot.lock() else {
            return (Err(Error::InvalidConnection), false);
        };
        if slot.conn.is_none() {
            match self.pool.get() {
                Ok(conn) => slot.conn = Some(conn),
                Err(e) => return (Err(Error::Io(e.to_string())), false),
            }
        }
        let Some(conn) = slot.conn.as_ref() else {
            return (Err(Error::InvalidConnection), false);
        };
        let result = f(conn).map_err(|e| Error::Io(e.to_string()));
        (result, !conn.is_autocommit())
    }

    /// Runs `statement` on the calling thread when it is a plain read outside a transaction (a
    /// read of a local WAL database never waits for writers and takes microseconds, less than
    /// a trip to another thread); `None` when it must go to the writer thread: writes wait
    /// for the writes before them and `fsync`, and `COMMIT` or `BEGIN IMMEDIATE` count as
    /// reads to SQLite but write too.
    fn read_inline(
        &self,
        statement: &str,
        parameters: &[Value],
    ) -> Option<Result<QueryResult, Error>> {
        if is_transaction_control(statement) {
            return None;
        }
        // One lock and one statement-cache lookup: the check and the read share them. An error
        // here (no connection, a statement that does not prepare) is the one the writer would
        // report.
        self.with_connection(|conn| {
            if !(conn.is_autocommit() && conn.prepare_cached(statement)?.readonly()) {
                return Ok(None);
            }
            execute(conn, statement, parameters).map(Some)
        })
        .0
        .transpose()
    }

    /// Runs `statement` on the file's writer thread, behind the writes that came before it;
    /// a transaction it begins keeps the writer for this connection until it ends.
    async fn write(&self, statement: String, parameters: Vec<Value>) -> Result<QueryResult, Error> {
        let (writer, owner, in_transaction) = match self.slot.lock() {
            Ok(slot) => (
                slot.writer.clone(),
                slot.owner,
                slot.conn.as_ref().is_some_and(|conn| !conn.is_autocommit()),
            ),
            Err(_) => return Err(Error::InvalidConnection),
        };
        let handle = self.clone();
        let job = move || handle.with_connection(|conn| execute(conn, &statement, &parameters));
        let written = if in_transaction {
            writer.run_in_transaction(owner, job).await
        } else {
            writer.run(Some(owner), job).await
        };
        written.unwrap_or_else(|busy| Err(Error::Io(busy.to_string())))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // A transaction left open holds the writer: the rollback runs there, and frees it.
        if let Some(conn) = self.conn.take()
            && !conn.is_autocommit()
        {
            self.writer.release(self.owner, move || drop(conn));
        }
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
            Database::Sqlite(pool) => ConnectionHandle::Local(LocalConnection::new(pool)),
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
        let since = self.call_began();
        let result = match self.table.get(&connection)?.clone() {
            ConnectionHandle::Local(handle) => match handle.read_inline(&statement, &parameters) {
                Some(read) => read,
                None => handle.write(statement, parameters).await,
            },
            ConnectionHandle::Remote(libsql, stream) => {
                let mut stream = stream.lock().await;
                libsql
                    .execute(&mut stream, &statement, &parameters)
                    .await
                    .map_err(Error::Io)
            }
        };
        self.call_ended(HostCall::Sqlite, since);
        Ok(result)
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
    use std::time::Duration;

    use super::*;

    fn text(value: &str) -> Value {
        Value::Text(value.to_owned())
    }

    fn count(conn: &LocalConnection) -> usize {
        let rows = conn
            .read_inline("SELECT x FROM t", &[])
            .expect("a plain read runs inline")
            .unwrap();
        rows.rows.len()
    }

    fn pool() -> (tempfile::TempDir, Pool) {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::open(&dir.path().join("t.db")).unwrap();
        pool.get()
            .unwrap()
            .execute_batch("CREATE TABLE t(x TEXT)")
            .unwrap();
        (dir, pool)
    }

    #[tokio::test]
    async fn a_write_waits_for_an_open_transaction_instead_of_failing() {
        let (_dir, pool) = pool();
        let (a, b) = (LocalConnection::new(&pool), LocalConnection::new(&pool));
        a.write("BEGIN IMMEDIATE".into(), vec![]).await.unwrap();
        a.write("INSERT INTO t VALUES (?)".into(), vec![text("a")])
            .await
            .unwrap();
        let waiting = tokio::spawn({
            let b = b.clone();
            async move {
                b.write("INSERT INTO t VALUES (?)".into(), vec![text("b")])
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "b wrote inside a's transaction");
        // Reads of a plain connection still go on, and see the last commit.
        assert_eq!(count(&b), 0);
        a.write("COMMIT".into(), vec![]).await.unwrap();
        waiting.await.unwrap().unwrap();
        assert_eq!(count(&b), 2);
    }

    #[tokio::test]
    async fn an_abandoned_transaction_is_rolled_back_and_frees_the_writer() {
        let (_dir, pool) = pool();
        let (a, b) = (LocalConnection::new(&pool), LocalConnection::new(&pool));
        a.write("BEGIN".into(), vec![]).await.unwrap();
        a.write("INSERT INTO t VALUES (?)".into(), vec![text("a")])
            .await
            .unwrap();
        let waiting = tokio::spawn({
            let b = b.clone();
            async move {
                b.write("INSERT INTO t VALUES (?)".into(), vec![text("b")])
                    .await
            }
        });
        drop(a);
        waiting.await.unwrap().unwrap();
        assert_eq!(count(&b), 1);
    }

    #[tokio::test]
    async fn a_failed_statement_in_autocommit_does_not_keep_the_writer() {
        let (_dir, pool) = pool();
        let (a, b) = (LocalConnection::new(&pool), LocalConnection::new(&pool));
        assert!(
            a.write("INSERT INTO nowhere VALUES (1)".into(), vec![])
                .await
                .is_err()
        );
        b.write("INSERT INTO t VALUES (?)".into(), vec![text("b")])
            .await
            .unwrap();
        assert_eq!(count(&a), 1);
    }

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
