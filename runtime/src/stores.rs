//! The app's stores, where the runtime config puts them: the `default` key-value store on
//! Spin's SQLite file or on Redis, the `default` database on Spin's SQLite file or on a libSQL
//! server. Each is checked at start-up, so an unreachable server stops the runtime at once.

use std::{path::Path, sync::Arc};

use anyhow::Context;

use crate::{
    libsql::Libsql,
    outbound_client::OutboundClient,
    redis_kv::RedisStore,
    runtime_config::{DatabaseBackend, KeyValueBackend, RuntimeConfig},
    storage::{DATABASE_FILE, KEY_VALUE_FILE, Pool},
};

/// The `default` key-value store.
#[derive(Debug, Clone)]
pub enum KeyValue {
    /// Spin's `spin_key_value` table in a SQLite file.
    Sqlite(Pool),
    /// Keys of a Redis server.
    Redis(Arc<RedisStore>),
}

/// The `default` SQLite database.
#[derive(Debug, Clone)]
pub enum Database {
    /// A SQLite file.
    Sqlite(Pool),
    /// A libSQL server.
    Libsql(Arc<Libsql>),
}

/// Stores shared by every request of the app.
#[derive(Debug, Clone)]
pub struct AppStores {
    /// The `default` key-value store.
    pub key_value: KeyValue,
    /// The `default` SQLite database.
    pub database: Database,
}

impl AppStores {
    /// Opens the stores `config` names; Spin's files live in `state_dir`.
    pub fn open(
        config: &RuntimeConfig,
        state_dir: &Path,
        client: &Arc<OutboundClient>,
    ) -> anyhow::Result<Self> {
        let key_value = match &config.key_value {
            KeyValueBackend::Spin => KeyValue::Sqlite(
                Pool::open_key_value(&state_dir.join(KEY_VALUE_FILE))
                    .context("opening the key-value store")?,
            ),
            KeyValueBackend::SpinAt(path) => KeyValue::Sqlite(
                Pool::open_key_value(path)
                    .with_context(|| format!("opening the key-value store {}", path.display()))?,
            ),
            KeyValueBackend::Redis(url) => KeyValue::Redis(Arc::new(RedisStore::open(url)?)),
        };
        let database = match &config.database {
            DatabaseBackend::Spin => Database::Sqlite(
                Pool::open(&state_dir.join(DATABASE_FILE))
                    .context("opening the default SQLite database")?,
            ),
            DatabaseBackend::SpinAt(path) => Database::Sqlite(
                Pool::open(path)
                    .with_context(|| format!("opening the SQLite database {}", path.display()))?,
            ),
            DatabaseBackend::Libsql { url, token } => {
                check_libsql(url, token)?;
                Database::Libsql(Arc::new(Libsql::new(url, token.clone(), client.clone())))
            }
        };
        Ok(Self {
            key_value,
            database,
        })
    }
}

/// Asks the server for `SELECT 1` from a thread of its own, with its own client and runtime:
/// start-up may run inside or outside a Tokio runtime, and the shared client's pooled
/// connections must not belong to a runtime that ends with the check.
fn check_libsql(url: &str, token: &crate::runtime_config::Secret) -> anyhow::Result<()> {
    let libsql = Libsql::new(url, token.clone(), Arc::new(OutboundClient::new()));
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting a runtime to reach the libSQL server")?
            .block_on(libsql.check())
    })
    .join()
    .map_err(|_| anyhow::anyhow!("checking the libSQL server panicked"))?
}
