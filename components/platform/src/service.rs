//! Storage access of the platform component: health probes of SQLite and key-value, and the
//! migration runner. SQL lives here as constants; decisions come from `chatcode_core`.

use chatcode_core::migrations::{self, Migration, MigrationError};
use chatcode_core::time::now_ms;
use spin_sdk::key_value::Store;
use spin_sdk::sqlite::{self, Connection, Value};

const SQL_CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
     version INTEGER PRIMARY KEY, \
     name TEXT NOT NULL, \
     checksum TEXT NOT NULL, \
     applied_at INTEGER NOT NULL)";
const SQL_HAS_SCHEMA_MIGRATIONS: &str =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
const SQL_SCHEMA_VERSION: &str = "SELECT MAX(version) FROM schema_migrations";
const SQL_APPLIED: &str = "SELECT version, checksum FROM schema_migrations ORDER BY version";
const SQL_RECORD_MIGRATION: &str =
    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)";
const SQL_BEGIN: &str = "BEGIN IMMEDIATE";
const SQL_COMMIT: &str = "COMMIT";
const SQL_ROLLBACK: &str = "ROLLBACK";

/// Key-value store the health check opens.
const KV_STORE: &str = "default";
/// Key the health check reads (it need not exist).
const KV_HEALTH_KEY: &str = "chatcode:healthz";

/// A storage failure; the message is for logs only.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite refused or failed.
    #[error("{context}: {source:?}")]
    Sqlite {
        /// What was being done.
        context: String,
        /// The host's error.
        source: sqlite::Error,
    },
    /// A row did not have the expected shape.
    #[error("unexpected row in schema_migrations: {0}")]
    BadRow(String),
    /// The database's migrations and this build's cannot be reconciled.
    #[error(transparent)]
    Conflict(#[from] MigrationError),
}

fn sql_err(context: impl Into<String>) -> impl FnOnce(sqlite::Error) -> Error {
    let context = context.into();
    move |source| Error::Sqlite { context, source }
}

/// Result of the health probes.
#[derive(Debug)]
pub struct Health {
    /// Highest applied migration (0 before any), or `None` if SQLite is unreachable.
    pub schema_version: Option<u32>,
    /// Whether the `default` key-value store answered.
    pub key_value_ok: bool,
}

/// Probes SQLite (schema version) and key-value (a cheap `exists`).
pub fn health() -> Health {
    let schema_version = Connection::open_default()
        .map_err(sql_err("open default database"))
        .and_then(|db| schema_version(&db))
        .inspect_err(|e| eprintln!("healthz: sqlite: {e}"))
        .ok();
    let key_value_ok = Store::open(KV_STORE)
        .and_then(|store| store.exists(KV_HEALTH_KEY))
        .inspect_err(|e| eprintln!("healthz: key-value: {e:?}"))
        .is_ok();
    Health {
        schema_version,
        key_value_ok,
    }
}

/// Highest applied version, 0 if `schema_migrations` is missing or empty.
fn schema_version(db: &Connection) -> Result<u32, Error> {
    let exists = db
        .execute(SQL_HAS_SCHEMA_MIGRATIONS, &[])
        .map_err(sql_err("look up schema_migrations"))?;
    if single_value(&exists).is_none_or(|v| matches!(v, Value::Integer(0))) {
        return Ok(0);
    }
    let max = db
        .execute(SQL_SCHEMA_VERSION, &[])
        .map_err(sql_err("read schema version"))?;
    match single_value(&max) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Integer(v)) => version_from(*v),
        Some(other) => Err(Error::BadRow(format!("MAX(version) = {other:?}"))),
    }
}

fn single_value(result: &sqlite::QueryResult) -> Option<&Value> {
    result.rows.first().and_then(|row| row.values.first())
}

fn version_from(v: i64) -> Result<u32, Error> {
    u32::try_from(v).map_err(|_| Error::BadRow(format!("version {v}")))
}

/// One migration applied by this call.
#[derive(Debug)]
pub struct Applied {
    /// Its version.
    pub version: u32,
    /// Its name.
    pub name: &'static str,
}

/// What a migrate call did.
#[derive(Debug)]
pub struct Outcome {
    /// Migrations applied now, in order (empty when already up to date).
    pub applied: Vec<Applied>,
    /// Highest applied version afterwards.
    pub schema_version: u32,
}

/// Applies every pending migration of `all`, each in its own `BEGIN IMMEDIATE` transaction
/// that re-reads `schema_migrations` first, so concurrent callers never apply a file twice.
pub fn migrate(all: &'static [Migration]) -> Result<Outcome, Error> {
    let db = Connection::open_default().map_err(sql_err("open default database"))?;
    db.execute(SQL_CREATE_SCHEMA_MIGRATIONS, &[])
        .map_err(sql_err("create schema_migrations"))?;

    // Fast path without the write lock: nothing to do, or a conflict to report.
    let mut applied = Vec::new();
    if migrations::pending(all, &read_applied(&db)?)?.is_empty() {
        return Ok(Outcome {
            applied,
            schema_version: schema_version(&db)?,
        });
    }

    while let Some(migration) = apply_next(&db, all)? {
        applied.push(Applied {
            version: migration.version,
            name: migration.name,
        });
    }
    Ok(Outcome {
        applied,
        schema_version: schema_version(&db)?,
    })
}

/// In one transaction: re-plan and apply the first pending migration, if any.
fn apply_next(
    db: &Connection,
    all: &'static [Migration],
) -> Result<Option<&'static Migration>, Error> {
    db.execute(SQL_BEGIN, &[])
        .map_err(sql_err("begin migration transaction"))?;
    let planned = read_applied(db)
        .and_then(|applied| Ok(migrations::pending(all, &applied)?.first().copied()))
        .and_then(|next| match next {
            Some(migration) => apply(db, migration).map(|()| Some(migration)),
            None => Ok(None),
        });
    match planned {
        Ok(next) => match db.execute(SQL_COMMIT, &[]) {
            Ok(_) => Ok(next),
            Err(e) => {
                rollback(db);
                Err(sql_err("commit migration")(e))
            }
        },
        Err(e) => {
            rollback(db);
            Err(e)
        }
    }
}

fn apply(db: &Connection, migration: &Migration) -> Result<(), Error> {
    for (index, statement) in migration.statements().iter().enumerate() {
        db.execute(statement, &[]).map_err(sql_err(format!(
            "migration {} statement {}",
            migration.name,
            index + 1
        )))?;
    }
    db.execute(
        SQL_RECORD_MIGRATION,
        &[
            Value::Integer(i64::from(migration.version)),
            Value::Text(migration.name.to_owned()),
            Value::Text(migration.checksum()),
            Value::Integer(now_ms()),
        ],
    )
    .map_err(sql_err(format!("record migration {}", migration.name)))?;
    Ok(())
}

fn rollback(db: &Connection) {
    if let Err(e) = db.execute(SQL_ROLLBACK, &[]) {
        eprintln!("migrate: rollback failed: {e:?}");
    }
}

fn read_applied(db: &Connection) -> Result<Vec<(u32, String)>, Error> {
    let result = db
        .execute(SQL_APPLIED, &[])
        .map_err(sql_err("read schema_migrations"))?;
    result
        .rows
        .iter()
        .map(|row| match row.values.as_slice() {
            [Value::Integer(version), Value::Text(checksum)] => {
                Ok((version_from(*version)?, checksum.clone()))
            }
            other => Err(Error::BadRow(format!("{other:?}"))),
        })
        .collect()
}
