//! Application variables: resolution from providers and `{{ name }}` templates.
//!
//! Precedence follows Spin: `--variable`, then `SPIN_VARIABLE_<NAME>` from
//! the environment snapshot the caller passes, then the manifest's `default`. A required variable with no value stops start-up.

use std::collections::{BTreeMap, HashMap};

use crate::manifest::{LoadedManifest, ManifestError};

/// Resolved application variable values by name.
#[derive(Debug, Clone, Default)]
pub struct AppVariables {
    values: HashMap<String, String>,
}

/// Why a variable could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum VariableError {
    /// A required variable was given no value.
    #[error(
        "required variable '{name}' has no value: set SPIN_VARIABLE_{upper} or pass --variable {name}=VALUE"
    )]
    Missing {
        /// The variable name.
        name: String,
        /// Its environment form.
        upper: String,
    },
    /// A value was supplied for a variable the manifest does not declare.
    #[error("variable '{0}' is not declared in [variables]")]
    Undeclared(String),
    /// A manifest problem (bad template, unknown reference).
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

impl AppVariables {
    /// Resolves every declared variable.
    ///
    /// `explicit` holds `--variable` values (a name the manifest does not
    /// declare is refused); `environment` is a snapshot of the process
    /// environment, searched for `SPIN_VARIABLE_<NAME>`.
    pub fn resolve(
        manifest: &LoadedManifest,
        explicit: &BTreeMap<String, String>,
        environment: &BTreeMap<String, String>,
    ) -> Result<Self, VariableError> {
        let defs = &manifest.manifest.variables;
        if let Some(name) = explicit.keys().find(|k| !defs.contains_key(k.as_str())) {
            return Err(VariableError::Undeclared(name.clone()));
        }
        let mut values = HashMap::new();
        for (name, def) in defs {
            let name = name.get_ref();
            let from_env = environment.get(&format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase()));
            match explicit.get(name).or(from_env).or(def.default.as_ref()) {
                Some(value) => {
                    values.insert(name.clone(), value.clone());
                }
                None if def.required => {
                    return Err(VariableError::Missing {
                        name: name.clone(),
                        upper: name.to_ascii_uppercase(),
                    });
                }
                None => {}
            }
        }
        Ok(Self { values })
    }

    /// The value of an application variable, if it has one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Expands `{{ name }}` references in `template`.
    pub fn expand(&self, template: &str) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(template.len());
        for part in parse_template(template)? {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Variable(name) => match self.values.get(name) {
                    Some(value) => out.push_str(value),
                    None => return Err(TemplateError::NoValue(name.to_string())),
                },
            }
        }
        Ok(out)
    }
}

/// A problem expanding a template.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{{` without a matching `}}`.
    #[error("unterminated '{{{{' in template")]
    Unterminated,
    /// The name inside `{{ }}` is not a valid variable name.
    #[error("invalid variable reference '{0}'")]
    InvalidName(String),
    /// The referenced variable has no value.
    #[error("variable '{0}' has no value")]
    NoValue(String),
}

/// One piece of a template.
#[derive(Debug, PartialEq, Eq)]
pub enum Part<'a> {
    /// Text copied as is.
    Literal(&'a str),
    /// A `{{ name }}` reference.
    Variable(&'a str),
}

/// Splits a template into literal text and variable references.
pub fn parse_template(template: &str) -> Result<Vec<Part<'_>>, TemplateError> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            parts.push(Part::Literal(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(TemplateError::Unterminated)?;
        let name = after[..end].trim();
        if !crate::manifest::is_variable_name(name) {
            return Err(TemplateError::InvalidName(name.to_string()));
        }
        parts.push(Part::Variable(name));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Literal(rest));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> AppVariables {
        AppVariables {
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn expands_references_with_and_without_spaces() {
        let v = vars(&[("host", "api.example.com"), ("port", "8080")]);
        assert_eq!(
            v.expand("https://{{ host }}:{{port}}/x").unwrap(),
            "https://api.example.com:8080/x"
        );
        assert_eq!(v.expand("plain").unwrap(), "plain");
    }

    #[test]
    fn reports_template_errors() {
        let v = vars(&[]);
        assert_eq!(v.expand("{{ x"), Err(TemplateError::Unterminated));
        assert_eq!(
            v.expand("{{ X }}"),
            Err(TemplateError::InvalidName("X".into()))
        );
        assert_eq!(v.expand("{{ x }}"), Err(TemplateError::NoValue("x".into())));
    }

    #[test]
    fn provided_values_beat_defaults_and_required_ones_are_checked() {
        let text = r#"spin_manifest_version = 2
[application]
name = "a"
[variables]
a = { default = "d" }
b = { required = true }
c = { default = "c" }
"#;
        let m = LoadedManifest::parse(std::path::Path::new("spin.toml"), text.into()).unwrap();
        let explicit = BTreeMap::from([("a".to_string(), "p".to_string())]);
        let env = BTreeMap::from([
            ("SPIN_VARIABLE_A".to_string(), "env".to_string()),
            ("SPIN_VARIABLE_B".into(), "b".into()),
            ("SPIN_VARIABLE_UNDECLARED".into(), "ignored".into()),
        ]);
        let v = AppVariables::resolve(&m, &explicit, &env).unwrap();
        assert_eq!(v.get("a"), Some("p"));
        assert_eq!(v.get("b"), Some("b"));
        assert_eq!(v.get("c"), Some("c"));
        let err = AppVariables::resolve(&m, &BTreeMap::new(), &BTreeMap::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "required variable 'b' has no value: set SPIN_VARIABLE_B or pass --variable b=VALUE"
        );
        let extra = BTreeMap::from([("zz".to_string(), "1".to_string())]);
        assert!(matches!(
            AppVariables::resolve(&m, &extra, &env),
            Err(VariableError::Undeclared(n)) if n == "zz"
        ));
    }
}
