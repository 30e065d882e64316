//! The migrations embedded in this component: one entry per file in `migrations/`, in order.

use chatcode_core::migrations::Migration;

/// Every migration this build knows.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_initial",
        sql: include_str!("../../../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "0002_api_keys",
        sql: include_str!("../../../migrations/0002_api_keys.sql"),
    },
    Migration {
        version: 3,
        name: "0003_billing",
        sql: include_str!("../../../migrations/0003_billing.sql"),
    },
];

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    use super::MIGRATIONS;

    #[test]
    fn lists_every_migration_file() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
        let mut files: Vec<(String, String)> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .map(|path| {
                let name = path.file_stem().unwrap().to_string_lossy().into_owned();
                (name, fs::read_to_string(&path).unwrap())
            })
            .collect();
        files.sort();
        let listed: Vec<(String, String)> = MIGRATIONS
            .iter()
            .map(|m| (m.name.to_owned(), m.sql.to_owned()))
            .collect();
        assert_eq!(listed, files);
        for m in MIGRATIONS {
            assert_eq!(m.name[..4].parse::<u32>().unwrap(), m.version, "{}", m.name);
        }
    }
}
