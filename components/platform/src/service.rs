//! Storage access of the platform component: health probes of SQLite and key-value, and the
//! migration runner. SQL lives here as constants; decisions come from `chatcode_core`.

use chatcode_core::{
    ApiError,
    migrations::{self, Migration, MigrationError},
    time::now_ms,
};
use chatcode_kit::{db, kv};
use spin_sdk::sqlite::{Connection, QueryResult, Value};

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

/// Key the health check reads (it need not exist).
const KV_HEALTH_KEY: &str = "chatcode:healthz";

/// Logs an unexpected row and answers 500.
fn bad_row(what: String) -> ApiError {
    eprintln!("unexpected row in schema_migrations: {what}");
    ApiError::internal()
}

/// What the client may see of a plan that cannot be carried out; detail is only logged.
fn conflict(err: MigrationError) -> ApiError {
    eprintln!("migrate: {err}");
    match err {
        MigrationError::DuplicateVersion { .. } => ApiError::internal(),
        other => ApiError::migration_conflict(other.to_string()),
    }
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
    let schema_version = db::open().and_then(|db| schema_version(&db)).ok();
    let key_value_ok = kv::store()
        .and_then(|store| store.exists(KV_HEALTH_KEY).map_err(kv::failed))
        .is_ok();
    Health {
        schema_version,
        key_value_ok,
    }
}

/// Highest applied version, 0 if `schema_migrations` is missing or empty.
fn schema_version(db: &Connection) -> Result<u32, ApiError> {
    let exists = db::run(db, SQL_HAS_SCHEMA_MIGRATIONS, &[])?;
    if single_value(&exists).is_none_or(|v| matches!(v, Value::Integer(0))) {
        return Ok(0);
    }
    let max = db::run(db, SQL_SCHEMA_VERSION, &[])?;
    match single_value(&max) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Integer(v)) => version_from(*v),
        Some(other) => Err(bad_row(format!("MAX(version) = {other:?}"))),
    }
}

fn single_value(result: &QueryResult) -> Option<&Value> {
    result.rows.first().and_then(|row| row.values.first())
}

fn version_from(v: i64) -> Result<u32, ApiError> {
    u32::try_from(v).map_err(|_| bad_row(format!("version {v}")))
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
pub fn migrate(all: &'static [Migration]) -> Result<Outcome, ApiError> {
    let db = db::open()?;
    db::run(&db, SQL_CREATE_SCHEMA_MIGRATIONS, &[])?;

    // Fast path without the write lock: nothing to do, or a conflict to report.
    let mut applied = Vec::new();
    if migrations::pending(all, &read_applied(&db)?)
        .map_err(conflict)?
        .is_empty()
    {
        return Ok(Outcome {
            applied,
            schema_version: schema_version(&db)?,
        });
    }

    while let Some(migration) = db::transaction(&db, |db| apply_next(db, all))? {
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

/// Inside a transaction: re-plan, and apply the first pending migration, if any.
fn apply_next(
    db: &Connection,
    all: &'static [Migration],
) -> Result<Option<&'static Migration>, ApiError> {
    let applied = read_applied(db)?;
    let Some(migration) = migrations::pending(all, &applied)
        .map_err(conflict)?
        .first()
        .copied()
    else {
        return Ok(None);
    };
    for statement in migration.statements() {
        db::run(db, &statement, &[])?;
    }
    db::run(
        db,
        SQL_RECORD_MIGRATION,
        &[
            Value::Integer(i64::from(migration.version)),
            Value::Text(migration.name.to_owned()),
            Value::Text(migration.checksum()),
            Value::Integer(now_ms()),
        ],
    )?;
    Ok(Some(migration))
}

fn read_applied(db: &Connection) -> Result<Vec<(u32, String)>, ApiError> {
    let result = db::run(db, SQL_APPLIED, &[])?;
    result
        .rows
        .iter()
        .map(|row| match row.values.as_slice() {
            [Value::Integer(version), Value::Text(checksum)] => {
                Ok((version_from(*version)?, checksum.clone()))
            }
            other => Err(bad_row(format!("{other:?}"))),
        })
        .collect()
}
