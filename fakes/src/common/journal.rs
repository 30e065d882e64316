//! What a fake received: each routed request in order, and calls per endpoint.

use std::{
    collections::{HashMap, VecDeque},
    hash::Hash,
    sync::{Mutex, PoisonError},
};

use axum::http::request::Parts;

use super::params::parse_form;

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest<E> {
    /// Which endpoint it matched.
    pub endpoint: E,
    /// `GET`, `POST`, …
    pub method: String,
    /// Path and query string, as sent.
    pub path: String,
    /// Headers, names lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body (lossy UTF-8).
    pub body: String,
}

impl<E> RecordedRequest<E> {
    pub(crate) fn new(endpoint: E, parts: &Parts, body: &[u8]) -> Self {
        Self {
            endpoint,
            method: parts.method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map_or_else(|| parts.uri.path().to_owned(), ToString::to_string),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(body).into_owned(),
        }
    }

    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// A parameter from the form body, else from the query string.
    pub fn param(&self, name: &str) -> Option<String> {
        let query = self.path.split_once('?').map_or("", |(_, q)| q);
        parse_form(self.body.as_bytes())
            .into_iter()
            .chain(parse_form(query.as_bytes()))
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

#[derive(Debug)]
struct Entries<E> {
    requests: VecDeque<RecordedRequest<E>>,
    counts: HashMap<E, usize>,
}

/// The last `capacity` requests and a count of every call per endpoint.
#[derive(Debug)]
pub(crate) struct Journal<E> {
    entries: Mutex<Entries<E>>,
    capacity: usize,
}

impl<E: Eq + Hash + Copy> Journal<E> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(Entries {
                requests: VecDeque::new(),
                counts: HashMap::new(),
            }),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn record(&self, request: RecordedRequest<E>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        *entries.counts.entry(request.endpoint).or_default() += 1;
        if entries.requests.len() >= self.capacity {
            entries.requests.pop_front();
        }
        entries.requests.push_back(request);
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest<E>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.requests.iter().cloned().collect()
    }

    pub(crate) fn count(&self, endpoint: E) -> usize {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.counts.get(&endpoint).copied().unwrap_or(0)
    }

    pub(crate) fn clear(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.requests.clear();
        entries.counts.clear();
    }
}
