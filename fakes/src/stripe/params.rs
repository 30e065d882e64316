//! What each endpoint accepts, checked the way Stripe checks it: unknown names are
//! `parameter_unknown`, bad numbers `parameter_invalid_integer`, missing ones
//! `parameter_missing`, always with `param` naming the culprit.

use std::collections::BTreeMap;

use super::{
    errors::ApiError,
    form::{Field, Form},
};

/// Metadata limits from Stripe's docs: 50 keys, keys up to 40 characters, values up to 500.
const METADATA_KEYS: usize = 50;
const METADATA_KEY_LEN: usize = 40;
const METADATA_VALUE_LEN: usize = 500;

/// The type of one parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A string (empty means "unset").
    Text,
    /// An integer.
    Int,
    /// `true` or `false`.
    Bool,
    /// `metadata[k]=v`; `metadata[k]=` removes a key and `metadata=` all of them.
    Metadata,
    /// `name[]=a&name[]=b` (or `name[0]=a`).
    TextList,
    /// A hash with these keys.
    Hash(Schema),
}

/// An endpoint's parameters and their types.
pub(crate) type Schema = &'static [(&'static str, Kind)];

/// A request's parameters, once they passed their endpoint's schema.
#[derive(Debug)]
pub(crate) struct Params<'a> {
    form: &'a Form,
}

/// Checks every parameter of `form` against `schema`.
pub(crate) fn check<'a>(form: &'a Form, schema: Schema) -> Result<Params<'a>, ApiError> {
    check_hash(form, schema, None)?;
    Ok(Params { form })
}

fn check_hash(
    map: &BTreeMap<String, Field>,
    schema: Schema,
    parent: Option<&str>,
) -> Result<(), ApiError> {
    for (name, field) in map {
        let path = parent.map_or_else(|| name.clone(), |p| format!("{p}[{name}]"));
        let Some((_, kind)) = schema.iter().find(|(n, _)| n == name) else {
            return Err(ApiError::unknown_parameter(&path));
        };
        check_field(field, *kind, &path)?;
    }
    Ok(())
}

fn invalid(message: String, path: &str) -> ApiError {
    ApiError::invalid(message).param(path).unsaved()
}

fn check_field(field: &Field, kind: Kind, path: &str) -> Result<(), ApiError> {
    let text = field.as_text();
    match kind {
        Kind::Text if text.is_none() => Err(invalid(format!("Invalid string: {path}"), path)),
        Kind::Int => {
            match text {
                Some(v) if v.is_empty() || v.parse::<i64>().is_ok() => Ok(()),
                Some(v) => Err(invalid(format!("Invalid integer: {v}"), path)
                    .code("parameter_invalid_integer")),
                None => Err(invalid(format!("Invalid integer: {path}"), path)
                    .code("parameter_invalid_integer")),
            }
        }
        Kind::Bool => match text {
            Some("" | "true" | "false") => Ok(()),
            Some(v) => Err(invalid(format!("Invalid boolean: {v}"), path)),
            None => Err(invalid(format!("Invalid boolean: {path}"), path)),
        },
        Kind::TextList => match (text, field.items()) {
            (Some(""), _) => Ok(()),
            (_, Some(items)) if items.iter().all(|i| i.as_text().is_some()) => Ok(()),
            _ => Err(invalid(format!("Invalid array: {path}"), path)),
        },
        Kind::Metadata => match field {
            Field::Text(v) if v.is_empty() => Ok(()),
            Field::Map(map) => check_metadata(map, path),
            _ => Err(invalid(format!("Invalid object: {path}"), path)),
        },
        Kind::Hash(schema) => match field {
            Field::Text(v) if v.is_empty() => Ok(()),
            Field::Map(map) => check_hash(map, schema, Some(path)),
            _ => Err(invalid(format!("Invalid object: {path}"), path)),
        },
        Kind::Text => Ok(()),
    }
}

fn check_metadata(map: &BTreeMap<String, Field>, path: &str) -> Result<(), ApiError> {
    if map.len() > METADATA_KEYS {
        return Err(invalid(
            format!(
                "You can specify up to {METADATA_KEYS} keys in metadata, but you passed {}.",
                map.len()
            ),
            path,
        ));
    }
    for (key, value) in map {
        let param = format!("{path}[{key}]");
        let Some(value) = value.as_text() else {
            return Err(invalid(format!("Invalid string: {param}"), &param));
        };
        let key_len = key.chars().count();
        if key_len > METADATA_KEY_LEN {
            return Err(invalid(
                format!(
                    "Metadata keys can have up to {METADATA_KEY_LEN} characters, but you passed in a key that is {key_len} characters. Invalid key: {key}"
                ),
                &param,
            ));
        }
        let value_len = value.chars().count();
        if value_len > METADATA_VALUE_LEN {
            return Err(invalid(
                format!(
                    "Metadata values can have up to {METADATA_VALUE_LEN} characters, but you passed in a value that is {value_len} characters. Invalid value: {value}"
                ),
                &param,
            ));
        }
    }
    Ok(())
}

impl Params<'_> {
    fn field(&self, path: &[&str]) -> Option<&Field> {
        let (first, rest) = path.split_first()?;
        let mut field = self.form.get(*first)?;
        for key in rest {
            match field {
                Field::Map(map) => field = map.get(*key)?,
                _ => return None,
            }
        }
        Some(field)
    }

    /// Whether the parameter was sent at all (even empty).
    pub(crate) fn given(&self, path: &[&str]) -> bool {
        self.field(path).is_some()
    }

    /// A string parameter, if sent and not empty.
    pub(crate) fn text(&self, path: &[&str]) -> Option<&str> {
        self.field(path)
            .and_then(Field::as_text)
            .filter(|v| !v.is_empty())
    }

    /// For updates: `None` if absent, `Some(None)` if sent empty (unset), else the value.
    pub(crate) fn change(&self, path: &[&str]) -> Option<Option<String>> {
        self.given(path).then(|| self.text(path).map(str::to_owned))
    }

    /// An integer parameter, if sent and not empty.
    pub(crate) fn int(&self, path: &[&str]) -> Option<i64> {
        self.text(path).and_then(|v| v.parse().ok())
    }

    /// A boolean parameter, if sent and not empty.
    pub(crate) fn flag(&self, path: &[&str]) -> Option<bool> {
        self.text(path).map(|v| v == "true")
    }

    /// The strings of a list parameter, if sent and not empty.
    pub(crate) fn list(&self, name: &str) -> Option<Vec<String>> {
        let items = self.field(&[name])?.items()?;
        let list: Vec<String> = items
            .into_iter()
            .filter_map(Field::as_text)
            .map(str::to_owned)
            .collect();
        (!list.is_empty()).then_some(list)
    }

    /// A required string: `parameter_missing` if absent, `parameter_invalid_empty` if empty.
    pub(crate) fn required(&self, name: &str) -> Result<&str, ApiError> {
        match self.field(&[name]).and_then(Field::as_text) {
            None => Err(ApiError::missing(name)),
            Some("") => Err(invalid(
                format!("You passed an empty string for '{name}'. We assume empty values are an attempt to unset a parameter; however '{name}' cannot be unset. You should remove '{name}' from your request or supply a non-empty value."),
                name,
            )
            .code("parameter_invalid_empty")),
            Some(v) => Ok(v),
        }
    }

    /// Applies `metadata[…]` to `metadata`, as Stripe merges it: keys sent empty are removed,
    /// `metadata=` removes every key.
    pub(crate) fn apply_metadata(&self, metadata: &mut BTreeMap<String, String>) {
        match self.form.get("metadata") {
            Some(Field::Text(_)) => metadata.clear(),
            Some(Field::Map(map)) => {
                for (key, value) in map {
                    match value.as_text() {
                        Some("") | None => {
                            metadata.remove(key);
                        }
                        Some(v) => {
                            metadata.insert(key.clone(), v.to_owned());
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::form::decode;

    const SCHEMA: Schema = &[
        ("amount", Kind::Int),
        ("confirm", Kind::Bool),
        ("metadata", Kind::Metadata),
        ("types", Kind::TextList),
        (
            "settings",
            Kind::Hash(&[("default", Kind::Text), ("on", Kind::Bool)]),
        ),
    ];

    fn error(body: &[u8]) -> ApiError {
        let form = decode(body).expect("decodes");
        check(&form, SCHEMA).expect_err("refused")
    }

    #[test]
    fn names_the_parameter_at_fault() {
        let e = error(b"amount=1&colour=red");
        assert_eq!(
            (e.code, e.param.as_deref()),
            (Some("parameter_unknown"), Some("colour"))
        );
        assert_eq!(e.message, "Received unknown parameter: colour");
        let e = error(b"settings[defualt]=pm_1");
        assert_eq!(e.param.as_deref(), Some("settings[defualt]"));
        let e = error(b"amount=12.5");
        assert_eq!(
            (e.code, e.message.as_str()),
            (Some("parameter_invalid_integer"), "Invalid integer: 12.5")
        );
        assert_eq!(error(b"confirm=yes").param.as_deref(), Some("confirm"));
        assert_eq!(
            error(b"settings[on]=1").param.as_deref(),
            Some("settings[on]")
        );
        assert!(!error(b"types[x][y]=1").saved);
        let long = format!("metadata[{}]=v", "k".repeat(41));
        assert_eq!(
            error(long.as_bytes()).param.clone().unwrap_or_default(),
            format!("metadata[{}]", "k".repeat(41))
        );
    }

    #[test]
    fn reads_values_and_applies_metadata() {
        let form = decode(
            b"amount=1099&confirm=true&types[0]=card&settings[default]=&metadata[a]=1&metadata[b]=",
        )
        .expect("decodes");
        let p = check(&form, SCHEMA).expect("valid");
        assert_eq!(p.int(&["amount"]), Some(1099));
        assert_eq!(p.flag(&["confirm"]), Some(true));
        assert_eq!(p.list("types"), Some(vec!["card".to_owned()]));
        assert_eq!(p.change(&["settings", "default"]), Some(None));
        assert_eq!(p.change(&["settings", "on"]), None);
        let mut metadata = BTreeMap::from([
            ("b".to_owned(), "x".to_owned()),
            ("c".to_owned(), "y".to_owned()),
        ]);
        p.apply_metadata(&mut metadata);
        assert_eq!(
            metadata,
            BTreeMap::from([
                ("a".to_owned(), "1".to_owned()),
                ("c".to_owned(), "y".to_owned())
            ])
        );
        assert_eq!(p.required("amount").ok(), Some("1099"));
        assert_eq!(p.required("confirm").ok(), Some("true"));
        let form = decode(b"amount=&metadata=").expect("decodes");
        let p = check(&form, SCHEMA).expect("valid");
        assert_eq!(
            p.required("amount").map_err(|e| e.code),
            Err(Some("parameter_invalid_empty"))
        );
        assert_eq!(
            p.required("types").map_err(|e| e.code),
            Err(Some("parameter_missing"))
        );
        p.apply_metadata(&mut metadata);
        assert!(metadata.is_empty());
    }
}
