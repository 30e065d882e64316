//! Checks every file in `migrations/` against a real SQLite: each statement that
//! `split_statements` yields executes on its own, and the resulting schema is sound.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use chatcode_core::migrations::split_statements;
use rusqlite::Connection;

fn migration_files() -> Vec<(u32, String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("migrations/ exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let (number, _) = name.split_once('_').expect("NNNN_name.sql");
            assert_eq!(number.len(), 4, "{name}: four-digit version");
            let version = number.parse().expect("numeric version");
            (version, name, fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

fn apply_split(conn: &Connection, sql: &str) {
    for statement in split_statements(sql) {
        // `prepare` rejects a string holding more than one statement.
        let mut prepared = conn
            .prepare(&statement)
            .unwrap_or_else(|e| panic!("{e}\nin statement:\n{statement}"));
        prepared.raw_execute().unwrap();
    }
}

fn schema(conn: &Connection) -> BTreeSet<(String, String, String)> {
    let mut stmt = conn
        .prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL")
        .unwrap();
    stmt.query_map([], |row| {
        Ok((
            row.get(0)?,
            row.get(1)?,
            normalise(&row.get::<_, String>(2)?),
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// `sqlite_master` keeps the original text; drop `--` comments (none of our string literals
/// contain `--`) and collapse whitespace so split and whole-script schemas compare equal.
fn normalise(sql: &str) -> String {
    sql.lines()
        .map(|line| line.split("--").next().unwrap_or_default())
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn versions_are_contiguous_from_one() {
    let versions: Vec<u32> = migration_files().iter().map(|(v, _, _)| *v).collect();
    assert!(!versions.is_empty());
    assert_eq!(versions, (1..=versions.len() as u32).collect::<Vec<_>>());
}

#[test]
fn split_statements_apply_like_the_whole_script() {
    let split = Connection::open_in_memory().unwrap();
    let whole = Connection::open_in_memory().unwrap();
    for (_, name, sql) in migration_files() {
        // The runner owns schema_migrations (comments may mention it).
        let creates_it = split_statements(&sql)
            .iter()
            .any(|s| s.to_lowercase().contains("schema_migrations"));
        assert!(!creates_it, "{name} touches schema_migrations");
        apply_split(&split, &sql);
        whole.execute_batch(&sql).unwrap();
    }
    assert_eq!(schema(&split), schema(&whole));
}

#[test]
fn foreign_keys_reference_existing_columns() {
    let conn = Connection::open_in_memory().unwrap();
    for (_, _, sql) in migration_files() {
        apply_split(&conn, &sql);
    }
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut foreign_keys = 0;
    for table in &tables {
        let mut stmt = conn
            .prepare("SELECT \"table\", \"to\" FROM pragma_foreign_key_list(?1)")
            .unwrap();
        let targets: Vec<(String, String)> = stmt
            .query_map([table], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (target, column) in targets {
            foreign_keys += 1;
            let found: i64 = conn
                .query_row(
                    "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
                    [&target, &column],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(found, 1, "{table} references missing {target}.{column}");
        }
    }
    assert!(foreign_keys > 0);
    let violations: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(violations, 0);
}

#[test]
fn timestamps_are_integer_milliseconds() {
    let conn = Connection::open_in_memory().unwrap();
    for (_, name, sql) in migration_files() {
        assert!(!sql.to_lowercase().contains("datetime("), "{name}");
        apply_split(&conn, &sql);
    }
    let mut stmt = conn
        .prepare(
            "SELECT m.name, c.name, c.type, c.dflt_value FROM sqlite_master m, \
             pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name LIKE '%\\_at' ESCAPE '\\'",
        )
        .unwrap();
    let columns: Vec<(String, String, String, Option<String>)> = stmt
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(columns.len() > 20);
    for (table, column, ty, default) in columns {
        assert_eq!(ty, "INTEGER", "{table}.{column}");
        assert_eq!(default, None, "{table}.{column} has a default");
    }
}

#[test]
fn the_ledger_is_append_only_and_balances_never_go_negative() {
    let conn = Connection::open_in_memory().unwrap();
    for (_, _, sql) in migration_files() {
        apply_split(&conn, &sql);
    }
    conn.execute("INSERT INTO users (id, created_at) VALUES ('usr-a', 0)", [])
        .unwrap();
    let entry = |key: &str, kind: &str, signup: i64, after: i64| {
        conn.execute(
            "INSERT INTO credit_ledger (id, user_id, idempotency_key, kind, amount, signup_delta, \
             purchased_delta, requested, signup_after, purchased_after, balance_after, created_at) \
             VALUES (?1, 'usr-a', ?1, ?2, ?3, ?3, 0, abs(?3), ?4, 0, ?4, 0)",
            rusqlite::params![key, kind, signup, after],
        )
    };
    entry("signup:usr-a", "signup_grant", 100, 100).unwrap();
    assert!(
        entry("signup:usr-a", "signup_grant", 100, 200).is_err(),
        "keys are unique"
    );
    assert!(
        entry("usage:1", "usage", -150, -50).is_err(),
        "never below zero"
    );
    assert!(
        entry("usage:2", "usage", 10, 110).is_err(),
        "usage only takes"
    );
    assert!(entry("edit", "edit", 1, 101).is_err(), "known kinds only");
    let refused = |sql: &str| conn.execute(sql, []).unwrap_err().to_string();
    assert!(refused("UPDATE credit_ledger SET amount = 1").contains("append-only"));
    assert!(refused("DELETE FROM credit_ledger").contains("append-only"));
    assert!(
        refused("UPDATE users SET credits_balance = credits_balance - 100001").contains("negative")
    );
    conn.execute(
        "UPDATE users SET credits_balance = 0, signup_credits = 0",
        [],
    )
    .unwrap();
}
