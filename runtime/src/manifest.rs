//! Reads a Spin manifest (v2) and checks everything the runtime relies on.
//!
//! Only the parts of the format that chatcode uses are accepted; anything else
//! is refused with an error that names the line, rather than silently ignored.

use std::{
    collections::{BTreeMap, HashSet},
    fmt,
    ops::Range,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use toml::Spanned;

/// A problem with `spin.toml`, always naming the file and, when known, the line.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The manifest path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not have the manifest's shape.
    #[error("{path}: {message}")]
    Syntax {
        /// The manifest path.
        path: PathBuf,
        /// The parser's message, which names line and column.
        message: String,
    },
    /// A value is well-formed TOML but not acceptable.
    #[error("{path}:{line}: {message}")]
    Invalid {
        /// The manifest path.
        path: PathBuf,
        /// 1-based line of the offending value.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// The parsed manifest.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Must be 2.
    pub spin_manifest_version: Spanned<u32>,
    /// Name, version, description.
    pub application: Application,
    /// Application variables.
    #[serde(default)]
    pub variables: BTreeMap<Spanned<String>, VariableDef>,
    /// Triggers; only `http` is supported.
    #[serde(default)]
    pub trigger: Triggers,
    /// Components by id.
    #[serde(default)]
    pub component: BTreeMap<Spanned<String>, Component>,
}

/// `[application]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// Application name.
    pub name: String,
    /// Application version.
    #[serde(default)]
    pub version: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Authors.
    #[serde(default)]
    pub authors: Vec<String>,
}

/// One entry of `[variables]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDef {
    /// Value used when no provider supplies one.
    #[serde(default)]
    pub default: Option<String>,
    /// Start-up fails when no value is supplied.
    #[serde(default)]
    pub required: bool,
    /// Only affects logging: the value is never printed.
    #[serde(default)]
    pub secret: bool,
}

/// `[trigger]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    /// `[[trigger.http]]` entries.
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
}

/// One `[[trigger.http]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTrigger {
    /// Route pattern, or `{ private = true }`.
    pub route: Spanned<RouteConfig>,
    /// Component id.
    pub component: Spanned<String>,
    /// Optional executor; only the default Spin executor is supported.
    #[serde(default)]
    pub executor: Option<toml::Value>,
}

/// The `route` of an HTTP trigger.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RouteConfig {
    /// A public route pattern such as `/vps/...`.
    Route(String),
    /// `{ private = true }`: reachable only by service chaining.
    Private {
        /// Must be true.
        private: bool,
    },
}

/// `[component.<id>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Path of the `.wasm`, relative to the manifest.
    pub source: Spanned<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Files to mount; not supported by the embedded runtime yet.
    #[serde(default)]
    pub files: Option<Spanned<toml::Value>>,
    /// Files excluded from `files`.
    #[serde(default)]
    pub exclude_files: Vec<String>,
    /// Environment variables visible to the guest.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Outbound hosts the guest may call.
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<Spanned<String>>,
    /// Key-value store labels the guest may open.
    #[serde(default)]
    pub key_value_stores: Vec<Spanned<String>>,
    /// SQLite database labels the guest may open.
    #[serde(default)]
    pub sqlite_databases: Vec<Spanned<String>>,
    /// Component variables, values may use `{{ app_variable }}` templates.
    #[serde(default)]
    pub variables: BTreeMap<Spanned<String>, Spanned<String>>,
    /// How `spin build` builds this component.
    #[serde(default)]
    pub build: Option<BuildConfig>,
}

/// `[component.<id>.build]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    /// Shell command that builds the component.
    pub command: String,
    /// Directory to run it in, relative to the manifest.
    #[serde(default)]
    pub workdir: Option<String>,
    /// Globs `spin watch` watches.
    #[serde(default)]
    pub watch: Vec<String>,
}

/// A manifest loaded from disk, with the text kept for line numbers.
#[derive(Debug)]
pub struct LoadedManifest {
    /// Where it was read from.
    pub path: PathBuf,
    /// The parsed content.
    pub manifest: Manifest,
    text: String,
}

/// Key-value store and SQLite database labels the runtime provides.
pub const DEFAULT_LABEL: &str = "default";

impl LoadedManifest {
    /// Reads, parses and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, text)
    }

    /// Parses and validates manifest text said to come from `path`.
    pub fn parse(path: &Path, text: String) -> Result<Self, ManifestError> {
        let manifest: Manifest = toml::from_str(&text).map_err(|e| ManifestError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let loaded = Self {
            path: path.to_path_buf(),
            manifest,
            text,
        };
        loaded.validate()?;
        Ok(loaded)
    }

    /// The directory relative paths are resolved against.
    pub fn dir(&self) -> &Path {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        }
    }

    /// An error pointing at the line where `span` starts.
    pub fn error_at(&self, span: Range<usize>, message: impl fmt::Display) -> ManifestError {
        let line = self.text[..span.start.min(self.text.len())]
            .bytes()
            .filter(|b| *b == b'\n')
            .count()
            + 1;
        ManifestError::Invalid {
            path: self.path.clone(),
            line,
            message: message.to_string(),
        }
    }

    fn validate(&self) -> Result<(), ManifestError> {
        let m = &self.manifest;
        if *m.spin_manifest_version.get_ref() != 2 {
            return Err(self.error_at(
                m.spin_manifest_version.span(),
                "only spin_manifest_version = 2 is supported",
            ));
        }
        for name in m.variables.keys() {
            if !is_variable_name(name.get_ref()) {
                return Err(self.error_at(
                    name.span(),
                    format_args!(
                        "variable name '{}' must be lower_snake_case (a-z, 0-9, _; starting with a letter)",
                        name.get_ref()
                    ),
                ));
            }
        }
        for (name, def) in &m.variables {
            if def.required && def.default.is_some() {
                return Err(self.error_at(
                    name.span(),
                    format_args!(
                        "variable '{}' cannot be both required and have a default",
                        name.get_ref()
                    ),
                ));
            }
        }
        let ids: HashSet<&str> = m.component.keys().map(|k| k.get_ref().as_str()).collect();
        for trigger in &m.trigger.http {
            if !ids.contains(trigger.component.get_ref().as_str()) {
                return Err(self.error_at(
                    trigger.component.span(),
                    format_args!(
                        "trigger refers to component '{}', which is not defined",
                        trigger.component.get_ref()
                    ),
                ));
            }
            match trigger.route.get_ref() {
                RouteConfig::Route(route) if route.is_empty() => {
                    return Err(self.error_at(trigger.route.span(), "route must not be empty"));
                }
                RouteConfig::Private { private: false } => {
                    return Err(self.error_at(
                        trigger.route.span(),
                        "route must be a string pattern or '{ private = true }'",
                    ));
                }
                _ => {}
            }
            if let Some(executor) = &trigger.executor {
                let is_spin = executor.get("type").and_then(|t| t.as_str()) == Some("spin");
                if !is_spin {
                    return Err(self.error_at(
                        trigger.component.span(),
                        "only the default spin executor is supported",
                    ));
                }
            }
        }
        for (id, component) in &m.component {
            self.validate_component(id, component)?;
        }
        Ok(())
    }

    fn validate_component(
        &self,
        id: &Spanned<String>,
        component: &Component,
    ) -> Result<(), ManifestError> {
        if let Some(files) = &component.files {
            return Err(self.error_at(
                files.span(),
                format_args!(
                    "component '{}': `files` is not supported by the embedded runtime",
                    id.get_ref()
                ),
            ));
        }
        for label in component
            .key_value_stores
            .iter()
            .chain(&component.sqlite_databases)
        {
            if label.get_ref() != DEFAULT_LABEL {
                return Err(self.error_at(
                    label.span(),
                    format_args!(
                        "unknown store '{}': only \"default\" is provided without runtime configuration",
                        label.get_ref()
                    ),
                ));
            }
        }
        for name in component.variables.keys() {
            if !is_variable_name(name.get_ref()) {
                return Err(self.error_at(
                    name.span(),
                    format_args!(
                        "variable name '{}' must be lower_snake_case",
                        name.get_ref()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Spin's rule for variable names: lower snake case starting with a letter.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && !name.ends_with('_')
        && !name.contains("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LoadedManifest, ManifestError> {
        LoadedManifest::parse(Path::new("spin.toml"), text.to_string())
    }

    const MINIMAL: &str = r#"spin_manifest_version = 2
[application]
name = "app"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "web.wasm"
"#;

    #[test]
    fn accepts_a_minimal_manifest() {
        let loaded = parse(MINIMAL).expect("valid");
        assert_eq!(loaded.manifest.application.name, "app");
        assert_eq!(loaded.manifest.trigger.http.len(), 1);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = parse("spin_manifest_version = 2\n[application\nname='x'").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn unknown_fields_name_the_line() {
        let text = MINIMAL.replace("source = \"web.wasm\"", "source = \"web.wasm\"\nsorce = 1");
        let err = parse(&text).unwrap_err();
        assert!(err.to_string().contains("line 9"), "{err}");
        assert!(err.to_string().contains("sorce"), "{err}");
    }

    #[test]
    fn unknown_component_names_the_line() {
        let text = MINIMAL.replace("component = \"web\"", "component = \"nope\"");
        let err = parse(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "spin.toml:6: trigger refers to component 'nope', which is not defined"
        );
    }

    #[test]
    fn unknown_store_label_is_refused() {
        let text = format!("{MINIMAL}key_value_stores = [\"other\"]\n");
        let err = parse(&text).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("spin.toml:9: unknown store 'other'"),
            "{err}"
        );
    }

    #[test]
    fn variable_names_follow_spin_rules() {
        assert!(is_variable_name("hub_secret"));
        assert!(is_variable_name("a1"));
        assert!(!is_variable_name("Hub"));
        assert!(!is_variable_name("1a"));
        assert!(!is_variable_name("a-b"));
        assert!(!is_variable_name("a_"));
        assert!(!is_variable_name(""));
    }

    #[test]
    fn required_with_default_is_refused() {
        let text = format!("{MINIMAL}[variables]\nx = {{ required = true, default = \"1\" }}\n");
        let err = parse(&text).unwrap_err();
        assert!(err.to_string().contains("both required"), "{err}");
    }

    #[test]
    fn wrong_version_is_refused() {
        let err = parse(&MINIMAL.replace("= 2", "= 1")).unwrap_err();
        assert!(err.to_string().contains("spin.toml:1:"), "{err}");
    }
}
