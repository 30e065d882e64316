//! `POST /api/billing/usage`: what a usage event must carry, and how lists of usage are paged.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::ids::is_url_safe_id;

/// Longest idempotency key (Stripe's limit).
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
/// Longest model name.
const MAX_MODEL_LEN: usize = 128;
/// Most tokens one side of one event may count.
pub const MAX_TOKENS: i64 = 1_000_000_000;
/// Page size when none is asked for.
pub const DEFAULT_PAGE: i64 = 50;
/// Largest page.
pub const MAX_PAGE: i64 = 200;

/// The body of `POST /api/billing/usage`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageRequest {
    /// The caller's key for this event: the same key again is the same event.
    pub idempotency_key: String,
    /// The model that was used; priced by its row, or the `default` row.
    pub model: String,
    /// Input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// The agent session it belongs to, if any.
    #[serde(default)]
    pub session_id: Option<String>,
}

impl UsageRequest {
    /// Checks every field; the problems by field name. The model name is trimmed.
    pub fn validate(mut self) -> Result<Self, BTreeMap<String, String>> {
        let mut problems = BTreeMap::new();
        if let Err(why) = check_idempotency_key(&self.idempotency_key) {
            problems.insert("idempotency_key".to_owned(), why.to_owned());
        }
        self.model = self.model.trim().to_owned();
        if self.model.is_empty()
            || self.model.len() > MAX_MODEL_LEN
            || self.model.chars().any(char::is_control)
        {
            problems.insert(
                "model".to_owned(),
                format!("must have 1 to {MAX_MODEL_LEN} characters, without control characters"),
            );
        }
        for (name, value) in [
            ("input_tokens", self.input_tokens),
            ("output_tokens", self.output_tokens),
        ] {
            if !(0..=MAX_TOKENS).contains(&value) {
                problems.insert(
                    name.to_owned(),
                    format!("must be between 0 and {MAX_TOKENS}"),
                );
            }
        }
        if let Some(session) = &self.session_id
            && !is_url_safe_id(session)
        {
            problems.insert(
                "session_id".to_owned(),
                "must be an id of letters, digits, '-' and '_'".to_owned(),
            );
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(problems)
        }
    }
}

/// Checks a caller's idempotency key: 1 to 255 printable ASCII characters, no spaces.
pub fn check_idempotency_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err("must have 1 to 255 characters");
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("may contain only printable ASCII characters, without spaces");
    }
    Ok(())
}

/// Which page of a list: at most `limit` rows, older than the row `before` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Rows wanted.
    pub limit: i64,
    /// The id of the last row of the previous page.
    pub before: Option<String>,
}

/// Reads `limit` and `before` from a query string (`limit=20&before=use-…`); the message says
/// what is wrong.
pub fn parse_page(query: &str) -> Result<Page, String> {
    let mut page = Page {
        limit: DEFAULT_PAGE,
        before: None,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "limit" => {
                page.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| format!("limit must be a number from 1 to {MAX_PAGE}"))?;
            }
            "before" if is_url_safe_id(value) => page.before = Some(value.to_owned()),
            "before" => return Err("before must be the id of a listed row".to_owned()),
            _ => {}
        }
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> UsageRequest {
        UsageRequest {
            idempotency_key: "run-1/step-2".into(),
            model: " claude-sonnet ".into(),
            input_tokens: 10,
            output_tokens: 0,
            session_id: Some("ses-1".into()),
        }
    }

    #[test]
    fn a_good_request_passes_trimmed() {
        assert_eq!(request().validate().unwrap().model, "claude-sonnet");
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = UsageRequest {
            idempotency_key: "has space".into(),
            model: "".into(),
            input_tokens: -1,
            output_tokens: MAX_TOKENS + 1,
            session_id: Some("../x".into()),
        };
        let problems = bad.validate().unwrap_err();
        let names: Vec<&str> = problems.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "idempotency_key",
                "input_tokens",
                "model",
                "output_tokens",
                "session_id"
            ]
        );
        assert!(check_idempotency_key(&"k".repeat(255)).is_ok());
        assert!(check_idempotency_key(&"k".repeat(256)).is_err());
        assert!(check_idempotency_key("").is_err());
        assert!(check_idempotency_key("é").is_err());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let parsed: Result<UsageRequest, _> = serde_json::from_str(
            r#"{"idempotency_key":"k","model":"m","input_tokens":1,"output_tokens":1,"cost":0}"#,
        );
        assert!(parsed.is_err());
    }

    #[test]
    fn pages_default_and_bound() {
        assert_eq!(
            parse_page(""),
            Ok(Page {
                limit: DEFAULT_PAGE,
                before: None
            })
        );
        assert_eq!(
            parse_page("limit=2&before=use-abc&x=1"),
            Ok(Page {
                limit: 2,
                before: Some("use-abc".into())
            })
        );
        assert!(parse_page("limit=0").is_err());
        assert!(parse_page("limit=201").is_err());
        assert!(parse_page("limit=x").is_err());
        assert!(parse_page("before=a%20b").is_err());
    }
}
