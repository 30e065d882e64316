//! OAuth endpoints read parameters from the query string and from the body
//! (form-encoded, or JSON as some clients send); the body wins on conflicts.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};

/// Request parameters merged from the query string and the body.
#[derive(Debug, Default)]
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn new(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Self {
        let mut map: HashMap<String, String> = HashMap::new();
        if let Some(query) = query {
            map.extend(parse_form(query.as_bytes()));
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("application/json") {
            if let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(body) {
                for (k, v) in object {
                    match v {
                        serde_json::Value::String(s) => map.insert(k, s),
                        serde_json::Value::Null => None,
                        other => map.insert(k, other.to_string()),
                    };
                }
            }
        } else if !body.is_empty() {
            map.extend(parse_form(body));
        }
        Self(map)
    }

    /// The parameter's value, if present and not empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// `a=1&b=2` to pairs; malformed input yields no pairs.
pub(crate) fn parse_form(input: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(input).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn body_overrides_query() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let p = Params::new(Some("a=1&b=2"), &headers, b"b=3&c=");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("3"));
        assert_eq!(p.get("c"), None);
    }

    #[test]
    fn reads_json_bodies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let p = Params::new(None, &headers, br#"{"code":"x","n":1}"#);
        assert_eq!(p.get("code"), Some("x"));
        assert_eq!(p.get("n"), Some("1"));
    }
}
