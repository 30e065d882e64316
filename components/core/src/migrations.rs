//! Schema migration planning: split a SQL script into statements, checksum it, and decide which
//! migrations are pending given what a database has recorded. Executing them is the platform
//! component's job; everything here is pure.

use std::collections::{BTreeMap, HashSet};

use crate::token::sha256_hex;

mod split;

pub use split::split_statements;

/// One migration file, embedded in the component that applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Position in the sequence, from the file name (`0001_initial.sql` → 1).
    pub version: u32,
    /// File name without extension, e.g. `0001_initial`.
    pub name: &'static str,
    /// The script.
    pub sql: &'static str,
}

impl Migration {
    /// [`checksum`] of the script.
    pub fn checksum(&self) -> String {
        checksum(self.sql)
    }

    /// [`split_statements`] of the script.
    pub fn statements(&self) -> Vec<String> {
        split_statements(self.sql)
    }
}

/// Why the recorded migrations and this build's migrations cannot be reconciled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MigrationError {
    /// An applied migration's file changed after it was applied.
    #[error("migration {version} was modified after it was applied (checksum differs)")]
    Modified {
        /// The migration's version.
        version: u32,
    },
    /// The database records a migration this build does not have: its schema is newer.
    #[error("migration {version} is applied but unknown to this build (database schema is newer)")]
    UnknownApplied {
        /// The recorded version.
        version: u32,
    },
    /// This build lists one version twice.
    #[error("migration {version} is listed more than once")]
    DuplicateVersion {
        /// The repeated version.
        version: u32,
    },
    /// A migration is pending although a later one is already applied.
    #[error(
        "migration {version} is pending but later migration {latest_applied} is already applied"
    )]
    OutOfOrder {
        /// The pending version.
        version: u32,
        /// The highest applied version.
        latest_applied: u32,
    },
}

impl MigrationError {
    /// The migration version the error is about.
    pub fn version(&self) -> u32 {
        match *self {
            MigrationError::Modified { version }
            | MigrationError::UnknownApplied { version }
            | MigrationError::DuplicateVersion { version }
            | MigrationError::OutOfOrder { version, .. } => version,
        }
    }
}

/// The migrations of `all` not yet in `applied` (`(version, checksum)` rows), in version order.
///
/// Fails if `all` repeats a version, if an applied migration is unknown or its checksum differs
/// from the file, or if a pending migration sorts before the latest applied one.
pub fn pending<'a>(
    all: &'a [Migration],
    applied: &[(u32, String)],
) -> Result<Vec<&'a Migration>, MigrationError> {
    let mut known = BTreeMap::new();
    for migration in all {
        if known.insert(migration.version, migration).is_some() {
            return Err(MigrationError::DuplicateVersion {
                version: migration.version,
            });
        }
    }

    let mut applied_sorted: Vec<_> = applied.iter().collect();
    applied_sorted.sort_by_key(|(version, _)| *version);
    let mut done = HashSet::new();
    for (version, recorded) in applied_sorted {
        let migration = known
            .get(version)
            .ok_or(MigrationError::UnknownApplied { version: *version })?;
        if migration.checksum() != *recorded {
            return Err(MigrationError::Modified { version: *version });
        }
        done.insert(*version);
    }

    let latest_applied = done.iter().copied().max();
    let todo: Vec<_> = known
        .into_values()
        .filter(|m| !done.contains(&m.version))
        .collect();
    if let (Some(first), Some(latest_applied)) = (todo.first(), latest_applied)
        && first.version < latest_applied
    {
        return Err(MigrationError::OutOfOrder {
            version: first.version,
            latest_applied,
        });
    }
    Ok(todo)
}

/// Lowercase hex SHA-256 of the script with CRLF line ends normalised to LF, so a checkout's
/// line-ending conversion does not make an applied migration look modified.
pub fn checksum(sql: &str) -> String {
    if sql.contains("\r\n") {
        sha256_hex(sql.replace("\r\n", "\n").as_bytes())
    } else {
        sha256_hex(sql.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M1: Migration = Migration {
        version: 1,
        name: "0001_initial",
        sql: "CREATE TABLE a(x);",
    };
    const M2: Migration = Migration {
        version: 2,
        name: "0002_more",
        sql: "CREATE TABLE b(x);",
    };
    const M3: Migration = Migration {
        version: 3,
        name: "0003_even_more",
        sql: "CREATE TABLE c(x);",
    };

    fn rows(migrations: &[&Migration]) -> Vec<(u32, String)> {
        migrations
            .iter()
            .map(|m| (m.version, m.checksum()))
            .collect()
    }

    fn versions(pending: &[&Migration]) -> Vec<u32> {
        pending.iter().map(|m| m.version).collect()
    }

    #[test]
    fn checksum_is_sha256_hex() {
        assert_eq!(
            checksum(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(checksum("a\r\nb\r\n"), checksum("a\nb\n"));
        assert_ne!(checksum("a\nb"), checksum("a\nb\n"));
        assert_eq!(M1.checksum(), checksum(M1.sql));
    }

    #[test]
    fn all_pending_on_a_fresh_database() {
        let all = [M1, M2, M3];
        assert_eq!(versions(&pending(&all, &[]).unwrap()), [1, 2, 3]);
    }

    #[test]
    fn pending_is_sorted_whatever_the_listing_order() {
        let all = [M3, M1, M2];
        assert_eq!(versions(&pending(&all, &[]).unwrap()), [1, 2, 3]);
    }

    #[test]
    fn only_new_migrations_are_pending() {
        let all = [M1, M2, M3];
        assert_eq!(versions(&pending(&all, &rows(&[&M1])).unwrap()), [2, 3]);
        assert!(pending(&all, &rows(&[&M1, &M2, &M3])).unwrap().is_empty());
        // Applied rows may arrive in any order.
        assert!(pending(&all, &rows(&[&M3, &M1, &M2])).unwrap().is_empty());
    }

    #[test]
    fn no_migrations_at_all() {
        assert!(pending(&[], &[]).unwrap().is_empty());
    }

    #[test]
    fn modified_migration_is_an_error() {
        let all = [M1, M2];
        let applied = vec![(1, M1.checksum()), (2, checksum("CREATE TABLE b(y);"))];
        assert_eq!(
            pending(&all, &applied).unwrap_err(),
            MigrationError::Modified { version: 2 }
        );
    }

    #[test]
    fn unknown_applied_migration_is_an_error() {
        let all = [M1, M2];
        let applied = rows(&[&M1, &M2, &M3]);
        let err = pending(&all, &applied).unwrap_err();
        assert_eq!(err, MigrationError::UnknownApplied { version: 3 });
        assert_eq!(err.version(), 3);
        assert!(err.to_string().contains("migration 3"), "{err}");
    }

    #[test]
    fn lowest_conflict_is_reported_first() {
        let all = [M1, M2];
        let applied = vec![(9, "x".to_owned()), (1, "bad".to_owned())];
        assert_eq!(
            pending(&all, &applied).unwrap_err(),
            MigrationError::Modified { version: 1 }
        );
    }

    #[test]
    fn duplicate_versions_are_an_error() {
        let dup = Migration {
            name: "0001_other",
            ..M1
        };
        assert_eq!(
            pending(&[M1, dup], &[]).unwrap_err(),
            MigrationError::DuplicateVersion { version: 1 }
        );
    }

    #[test]
    fn a_gap_filled_later_is_out_of_order() {
        let all = [M1, M2, M3];
        let applied = rows(&[&M1, &M3]);
        assert_eq!(
            pending(&all, &applied).unwrap_err(),
            MigrationError::OutOfOrder {
                version: 2,
                latest_applied: 3
            }
        );
    }

    #[test]
    fn statements_of_a_migration() {
        let m = Migration {
            version: 1,
            name: "x",
            sql: "-- c\nCREATE TABLE a(x);\nCREATE INDEX i ON a(x);\n",
        };
        assert_eq!(
            m.statements(),
            ["CREATE TABLE a(x)", "CREATE INDEX i ON a(x)"]
        );
    }
}
