//! `--runtime-config-file`: Spin's runtime configuration, for the stores an app uses.
//!
//! The same file works with `spin up`:
//!
//! ```toml
//! [key_value_store.default]
//! type = "redis"             # or "spin" (a SQLite file; `path` optional)
//! url = "redis://host:6379"
//!
//! [sqlite_database.default]
//! type = "libsql"            # or "spin" (a SQLite file; `path` optional)
//! url = "https://db.example.turso.io"
//! token = "…"
//! ```
//!
//! Anything else stops start-up with a message naming it: an unknown section, store type or
//! field, a missing field, a label other than `default`. Secrets (a URL's password, a token)
//! never appear in a message or a log: [`Secret`] and [`redact_url`] see to it.

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use serde::Deserialize;

/// The one store label chatcode's components use.
const DEFAULT: &str = "default";

/// Where the `default` key-value store lives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum KeyValueBackend {
    /// Spin's SQLite file (in the state directory unless `path` says otherwise).
    #[default]
    Spin,
    /// A SQLite file at this path.
    SpinAt(PathBuf),
    /// A Redis server.
    Redis(Secret),
}

/// Where the `default` SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DatabaseBackend {
    /// Spin's SQLite file (in the state directory unless `path` says otherwise).
    #[default]
    Spin,
    /// A SQLite file at this path.
    SpinAt(PathBuf),
    /// A libSQL server (Hrana over HTTP) at `url`, authenticated with `token`.
    Libsql {
        /// `https://…`, `http://…` or `libsql://…` (which means `https://`).
        url: String,
        /// The bearer token (may be empty for a server without authentication).
        token: Secret,
    },
}

/// What a runtime config file says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuntimeConfig {
    /// The `default` key-value store.
    pub key_value: KeyValueBackend,
    /// The `default` SQLite database.
    pub database: DatabaseBackend,
}

/// A value that must never be printed: `Debug` and `Display` show `<redacted>`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `url` without its user information or query (a password or token may hide in either):
/// `redis://:pw@host:6379/0?x` becomes `redis://host:6379/0`.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if scheme.is_empty() {
        format!("{host}{path}")
    } else {
        format!("{scheme}://{host}{path}")
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum KeyValueTable {
    Spin { path: Option<PathBuf> },
    Redis { url: Secret },
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum DatabaseTable {
    Spin { path: Option<PathBuf> },
    Libsql { url: String, token: Secret },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    key_value_store: BTreeMap<String, toml::Value>,
    #[serde(default)]
    sqlite_database: BTreeMap<String, toml::Value>,
}

impl RuntimeConfig {
    /// Reads and checks the file at `path`; relative store paths are taken from its folder.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the runtime config file {}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, dir)
            .with_context(|| format!("in the runtime config file {}", path.display()))
    }

    /// Parses a runtime config; relative store paths are taken from `dir`.
    pub fn parse(text: &str, dir: &Path) -> anyhow::Result<Self> {
        let file: File = toml::from_str(text).map_err(|e| {
            anyhow::anyhow!(
                "{} (chatcode's runtime supports the [key_value_store.default] and \
                 [sqlite_database.default] sections)",
                e.message()
            )
        })?;
        let mut config = Self::default();
        for (label, table) in file.key_value_store {
            only_default("key_value_store", &label)?;
            let table: KeyValueTable = table
                .try_into()
                .map_err(|e: toml::de::Error| section_error("key_value_store", &label, &e))?;
            config.key_value = match table {
                KeyValueTable::Spin { path: None } => KeyValueBackend::Spin,
                KeyValueTable::Spin { path: Some(path) } => KeyValueBackend::SpinAt(dir.join(path)),
                KeyValueTable::Redis { url } => {
                    check_scheme(url.expose(), &["redis", "rediss"], "key_value_store")?;
                    KeyValueBackend::Redis(url)
                }
            };
        }
        for (label, table) in file.sqlite_database {
            only_default("sqlite_database", &label)?;
            let table: DatabaseTable = table
                .try_into()
                .map_err(|e: toml::de::Error| section_error("sqlite_database", &label, &e))?;
            config.database = match table {
                DatabaseTable::Spin { path: None } => DatabaseBackend::Spin,
                DatabaseTable::Spin { path: Some(path) } => DatabaseBackend::SpinAt(dir.join(path)),
                DatabaseTable::Libsql { url, token } => {
                    check_scheme(&url, &["https", "http", "libsql"], "sqlite_database")?;
                    DatabaseBackend::Libsql { url, token }
                }
            };
        }
        Ok(config)
    }
}

fn only_default(section: &str, label: &str) -> anyhow::Result<()> {
    if label != DEFAULT {
        bail!(
            "[{section}.{label}]: only the `{DEFAULT}` label is supported (the components use \
             no other)"
        );
    }
    Ok(())
}

fn section_error(section: &str, label: &str, e: &toml::de::Error) -> anyhow::Error {
    anyhow::anyhow!("[{section}.{label}]: {}", e.message().trim())
}

fn check_scheme(url: &str, schemes: &[&str], section: &str) -> anyhow::Result<()> {
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    if scheme.is_none_or(|s| !schemes.contains(&s)) {
        bail!(
            "[{section}.default]: url {} must start with {}",
            redact_url(url),
            schemes
                .iter()
                .map(|s| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(" or ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse(text: &str) -> anyhow::Result<RuntimeConfig> {
        RuntimeConfig::parse(text, Path::new("/etc/chatcode"))
    }

    #[test]
    fn redis_and_libsql_as_spin_writes_them() {
        let config = parse(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://:pw@cache:6379\"\n\n\
             [sqlite_database.default]\ntype = \"libsql\"\nurl = \"https://db.example.io\"\n\
             token = \"tok\"\n",
        )
        .unwrap();
        assert_eq!(
            config.key_value,
            KeyValueBackend::Redis(Secret::new("redis://:pw@cache:6379"))
        );
        assert_eq!(
            config.database,
            DatabaseBackend::Libsql {
                url: "https://db.example.io".into(),
                token: Secret::new("tok"),
            }
        );
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("pw@") && !shown.contains("\"tok\""),
            "{shown}"
        );
    }

    #[test]
    fn spin_files_and_defaults() {
        assert_eq!(parse("").unwrap(), RuntimeConfig::default());
        let config = parse(
            "[key_value_store.default]\ntype = \"spin\"\npath = \"kv.db\"\n\
             [sqlite_database.default]\ntype = \"spin\"\n",
        )
        .unwrap();
        assert_eq!(
            config.key_value,
            KeyValueBackend::SpinAt("/etc/chatcode/kv.db".into())
        );
        assert_eq!(config.database, DatabaseBackend::Spin);
    }

    #[test]
    fn mistakes_are_named_and_secrets_are_not() {
        for (text, words) in [
            (
                "[key_value_store.default]\ntype = \"azure_cosmos\"\n",
                "azure_cosmos",
            ),
            ("[key_value_store.default]\ntype = \"redis\"\n", "url"),
            (
                "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"https://x\"\n",
                "token",
            ),
            (
                "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://x\"\nport = 1\n",
                "port",
            ),
            (
                "[key_value_store.cache]\ntype = \"redis\"\nurl = \"redis://x\"\n",
                "default",
            ),
            ("[llm_compute]\ntype = \"spin\"\n", "llm_compute"),
            (
                "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"ftp://u:secret@x\"\ntoken = \"t\"\n",
                "https://",
            ),
        ] {
            let error = format!("{:#}", parse(text).unwrap_err());
            assert!(error.contains(words), "{error} should name {words}");
            assert!(!error.contains("secret"), "{error}");
        }
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            redact_url("redis://:pw@cache:6379/0?x=1"),
            "redis://cache:6379/0"
        );
        assert_eq!(redact_url("https://u:p@db.io"), "https://db.io");
        assert_eq!(redact_url("https://db.io/?authToken=t"), "https://db.io/");
        assert_eq!(redact_url("cache:6379"), "cache:6379");
    }
}
