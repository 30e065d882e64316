//! Paged lists as API v2 answers them: `page` and `per_page` (default 20, at most 200) in the
//! query, `links.pages` (`first`, `prev`, `next`, `last`) and `meta.total` in the body.

use std::collections::HashMap;

use axum::{http::StatusCode, response::Response};
use serde_json::{Value, json};

use super::errors::json_response;

/// The page the query asks for of `items`, under `key`, with links to the other pages of
/// `{base_url}{path}?…` (which keep the `filters` given).
pub(crate) fn answer(
    base_url: &str,
    path: &str,
    query: &HashMap<String, String>,
    filters: &[(&str, &str)],
    key: &str,
    items: Vec<Value>,
) -> Response {
    let number = |name: &str, default: usize| {
        query
            .get(name)
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let per_page = number("per_page", 20).clamp(1, 200);
    let page = number("page", 1).max(1);
    let total = items.len();
    let shown: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    let last = total.div_ceil(per_page).max(1);
    let link = |p: usize| {
        let mut url = format!("{base_url}{path}?page={p}&per_page={per_page}");
        for (name, value) in filters {
            url.push('&');
            url.push_str(name);
            url.push('=');
            url.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
        }
        url
    };
    let mut pages = serde_json::Map::new();
    if page > 1 {
        pages.insert("first".into(), json!(link(1)));
        pages.insert("prev".into(), json!(link(page - 1)));
    }
    if page < last {
        pages.insert("last".into(), json!(link(last)));
        pages.insert("next".into(), json!(link(page + 1)));
    }
    let links = if pages.is_empty() {
        json!({})
    } else {
        json!({ "pages": pages })
    };
    let mut body = serde_json::Map::new();
    body.insert(key.into(), Value::Array(shown));
    body.insert("links".into(), links);
    body.insert("meta".into(), json!({ "total": total }));
    json_response(StatusCode::OK, &Value::Object(body))
}
