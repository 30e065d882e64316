//! SQLite files behind the key-value store and the `default` database (unless the runtime
//! config puts them elsewhere, see [`crate::stores`]).
//!
//! File names and the key-value table are Spin's, so a data folder works as a
//! real Spin `--state-dir` too. Every connection runs in WAL mode with
//! `synchronous=FULL`: a write the guest saw succeed survives a crash, as with
//! Spin's defaults, at a fraction of the cost of a rollback journal. The runtime's writes to
//! a file run on its writer thread, in the order they came ([`crate::writer`]).

use std::{
    ops::{Deref, DerefMut},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context as _;
use rusqlite::Connection;

use crate::writer::Writer;

/// Spin's file name for the `default` key-value store.
pub const KEY_VALUE_FILE: &str = "sqlite_key_value.db";
/// Spin's file name for the `default` SQLite database.
pub const DATABASE_FILE: &str = "sqlite_db.db";

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_IDLE: usize = 32;

const CREATE_KEY_VALUE_TABLE: &str = "CREATE TABLE IF NOT EXISTS spin_key_value (
    store TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (store, key)
)";

/// A pool of connections to one SQLite file.
///
/// Each guest `open` gets its own connection, so a transaction a guest begins
/// belongs to that guest alone; connections go back to the pool when dropped.
#[derive(Debug, Clone)]
pub struct Pool {
    shared: Arc<PoolShared>,
}

#[derive(Debug)]
struct PoolShared {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    writer: Writer,
}

/// A connection borrowed from a [`Pool`].
#[derive(Debug)]
pub struct Pooled {
    conn: Option<Connection>,
    pool: Arc<PoolShared>,
}

impl Pool {
    /// Opens (creating if needed) the file and checks it can be used.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let writer = Writer::start(&name).context("starting the writer thread")?;
        let pool = Self {
            shared: Arc::new(PoolShared {
                path: path.to_path_buf(),
                idle: Mutex::new(Vec::new()),
                writer,
            }),
        };
        let conn = pool.get()?;
        conn.execute_batch("PRAGMA journal_mode = WAL;")?;
        drop(conn);
        Ok(pool)
    }

    /// Opens a key-value file (Spin's is [`KEY_VALUE_FILE`] in the state directory) and
    /// creates Spin's table.
    pub fn open_key_value(path: &Path) -> anyhow::Result<Self> {
        let pool = Self::open(path)?;
        pool.get()?.execute_batch(CREATE_KEY_VALUE_TABLE)?;
        Ok(pool)
    }

    /// The file's writer: every write through this pool runs there.
    pub fn writer(&self) -> &Writer {
        &self.shared.writer
    }

    /// Takes an idle connection or opens a new one.
    pub fn get(&self) -> rusqlite::Result<Pooled> {
        let idle = self.shared.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = Connection::open(&self.shared.path)?;
                conn.busy_timeout(BUSY_TIMEOUT)?;
                conn.execute_batch("PRAGMA synchronous = FULL;")?;
                conn
            }
        };
        Ok(Pooled {
            conn: Some(conn),
            pool: self.shared.clone(),
        })
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        // A guest that began a transaction and never finished it (or trapped)
        // must not hand it to the next request.
        if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
            return;
        }
        if let Ok(mut idle) = self.pool.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(conn);
        }
    }
}

impl Deref for Pooled {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        // Only `drop` takes the connection out.
        self.conn
            .as_ref()
            .expect("pooled connection present until drop")
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .expect("pooled connection present until drop")
    }
}

/// Runs a point read `f` on a pooled connection on the calling thread: a read of a local WAL
/// database never waits for writers and takes microseconds, less than handing it to another
/// thread and back.
///
/// Errors come back as text: the guest interfaces carry them as strings.
pub fn run_read<T, F>(pool: &Pool, f: F) -> Result<T, String>
where
    F: FnOnce(&mut Connection) -> rusqlite::Result<T>,
{
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    f(&mut conn).map_err(|e| e.to_string())
}

/// Runs `f` on a pooled connection off the request threads: a read that may take a while.
/// Writes go through [`run_write`].
///
/// Errors come back as text: the guest interfaces carry them as strings.
pub async fn run_blocking<T, F>(pool: Pool, f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await
    .map_err(|e| format!("storage task failed: {e}"))?
    .map_err(|e| e.to_string())
}

/// Runs the single-statement write `f` on a pooled connection on the file's writer thread,
/// behind the writes that came before it (see [`crate::writer`]); a write refused as busy
/// never reaches SQLite.
///
/// Errors come back as text: the guest interfaces carry them as strings.
pub async fn run_write<T, F>(pool: Pool, f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
{
    let writer = pool.writer().clone();
    writer
        .run(None, move || {
            let written = pool.get().and_then(|mut conn| f(&mut conn));
            (written, false)
        })
        .await
        .map_err(|busy| busy.to_string())?
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_abandoned_transaction_is_rolled_back() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::open(&dir.path().join("t.db")).unwrap();
        pool.get()
            .unwrap()
            .execute_batch("CREATE TABLE t(x)")
            .unwrap();
        {
            let conn = pool.get().unwrap();
            conn.execute_batch("BEGIN; INSERT INTO t VALUES (1);")
                .unwrap();
        }
        let conn = pool.get().unwrap();
        assert!(conn.is_autocommit());
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn key_value_file_uses_spins_name_and_table() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::open_key_value(&dir.path().join(KEY_VALUE_FILE)).unwrap();
        assert!(dir.path().join(KEY_VALUE_FILE).exists());
        pool.get()
            .unwrap()
            .execute(
                "INSERT INTO spin_key_value(store, key, value) VALUES ('default', 'k', x'01')",
                [],
            )
            .unwrap();
        let mode: String = pool
            .get()
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
