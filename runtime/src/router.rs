//! HTTP trigger routing with Spin's semantics, and the `spin-*` request headers.
//!
//! Matching uses `routefinder`, the crate Spin itself uses, so precedence is
//! the same: exact segments beat captures, captures beat wildcards, and among
//! wildcards the longest prefix wins. A duplicated route: the last one wins.
//! The header values that depend only on the route are made once, when the router is built.

use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::manifest::{LoadedManifest, ManifestError, RouteConfig};

/// Maps request paths to component ids.
#[derive(Debug)]
pub struct Router {
    inner: routefinder::Router<Route>,
}

#[derive(Debug)]
struct Route {
    component: Arc<str>,
    /// The route as written in the manifest, e.g. `/vps/...` (`None`: not a valid header value).
    raw: Option<HeaderValue>,
    /// The route without its trailing `/...`, e.g. `/vps`.
    prefix: Option<HeaderValue>,
}

/// The result of routing one request path.
#[derive(Debug, Clone)]
pub struct RouteMatch {
    /// The component that handles it.
    pub component: Arc<str>,
    /// `spin-matched-route` / `spin-raw-component-route` (`None`: not a valid header value).
    pub raw_route: Option<HeaderValue>,
    /// `spin-component-route` (`None`: not a valid header value).
    pub component_route: Option<HeaderValue>,
    /// `spin-path-info`: what the wildcard matched, "" for exact routes.
    pub path_info: String,
    /// `:name` captures.
    pub captures: Vec<(String, String)>,
}

impl Router {
    /// Builds the router from the manifest's `[[trigger.http]]` entries.
    pub fn build(manifest: &LoadedManifest) -> Result<Self, ManifestError> {
        // Later duplicates replace earlier ones, keeping the first position.
        let mut by_route: Vec<(String, String, std::ops::Range<usize>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for trigger in &manifest.manifest.trigger.http {
            let RouteConfig::Route(raw) = trigger.route.get_ref() else {
                continue;
            };
            let entry = (
                raw.clone(),
                trigger.component.get_ref().clone(),
                trigger.route.span(),
            );
            match index.get(raw) {
                Some(&i) => by_route[i] = entry,
                None => {
                    index.insert(raw.clone(), by_route.len());
                    by_route.push(entry);
                }
            }
        }
        let mut inner = routefinder::Router::new();
        for (raw, component, span) in by_route {
            let based = sanitize(&raw);
            let (spec, prefix) = match based.strip_suffix("/...") {
                Some(prefix) => (
                    format!("{prefix}/*"),
                    raw.strip_suffix("/...").unwrap_or(&raw).to_string(),
                ),
                None => (based.clone(), raw.clone()),
            };
            let route = Route {
                component: component.into(),
                raw: header_value(raw.clone()),
                prefix: header_value(prefix),
            };
            inner
                .add(spec.as_str(), route)
                .map_err(|e| manifest.error_at(span, format_args!("invalid route '{raw}': {e}")))?;
        }
        Ok(Self { inner })
    }

    /// Finds the component for `path` (without the query string).
    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        let found = self.inner.best_match(path)?;
        let route = found.handler();
        let captures = found.captures();
        let path_info = match captures.wildcard() {
            // Spin keeps the trailing slash that routefinder drops.
            Some(w) => match (w.is_empty(), path.ends_with('/')) {
                (true, false) => String::new(),
                (true, true) => "/".to_string(),
                (false, false) => format!("/{w}"),
                (false, true) => format!("/{w}/"),
            },
            None => String::new(),
        };
        Some(RouteMatch {
            component: route.component.clone(),
            raw_route: route.raw.clone(),
            component_route: route.prefix.clone(),
            path_info,
            captures: captures
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        })
    }
}

impl RouteMatch {
    /// Adds the headers Spin gives every request it hands to a component; `full_url` is the
    /// request's absolute URL. A value that is not a valid header value is left out.
    pub fn add_spin_headers(&self, headers: &mut HeaderMap, full_url: String, client: &ClientAddr) {
        let mut add = |name: HeaderName, value: Option<HeaderValue>| {
            if let Some(value) = value {
                headers.insert(name, value);
            }
        };
        add(SPIN_PATH_INFO, header_value(self.path_info.clone()));
        add(SPIN_FULL_URL, header_value(full_url));
        add(SPIN_MATCHED_ROUTE, self.raw_route.clone());
        add(SPIN_BASE_PATH, Some(HeaderValue::from_static("/")));
        add(SPIN_RAW_COMPONENT_ROUTE, self.raw_route.clone());
        add(SPIN_COMPONENT_ROUTE, self.component_route.clone());
        add(SPIN_CLIENT_ADDR, client.0.clone());
        for (name, value) in &self.captures {
            let name = format!("spin-path-match-{}", name.to_ascii_lowercase());
            if let Ok(name) = HeaderName::try_from(name) {
                add(name, header_value(value.clone()));
            }
        }
    }
}

/// A connection's `spin-client-addr` value, made once for all its requests.
#[derive(Debug, Clone)]
pub struct ClientAddr(Option<HeaderValue>);

impl ClientAddr {
    /// The value for a connection from `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self(header_value(addr.to_string()))
    }
}

/// `value` as a header value without copying it, if it is a valid one.
fn header_value(value: String) -> Option<HeaderValue> {
    HeaderValue::from_maybe_shared(Bytes::from(value)).ok()
}

const SPIN_PATH_INFO: HeaderName = HeaderName::from_static("spin-path-info");
const SPIN_FULL_URL: HeaderName = HeaderName::from_static("spin-full-url");
const SPIN_MATCHED_ROUTE: HeaderName = HeaderName::from_static("spin-matched-route");
const SPIN_BASE_PATH: HeaderName = HeaderName::from_static("spin-base-path");
const SPIN_RAW_COMPONENT_ROUTE: HeaderName = HeaderName::from_static("spin-raw-component-route");
const SPIN_COMPONENT_ROUTE: HeaderName = HeaderName::from_static("spin-component-route");
const SPIN_CLIENT_ADDR: HeaderName = HeaderName::from_static("spin-client-addr");

/// Spin's normalisation: absolute, one trailing slash removed (so `/` is "").
fn sanitize(route: &str) -> String {
    let absolute = if route.starts_with('/') {
        route.to_string()
    } else {
        format!("/{route}")
    };
    match absolute.strip_suffix('/') {
        Some(s) => s.to_string(),
        None => absolute,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn router(routes: &[(&str, &str)]) -> Router {
        let mut text = String::from("spin_manifest_version = 2\n[application]\nname = \"a\"\n");
        for (route, component) in routes {
            text.push_str(&format!(
                "[[trigger.http]]\nroute = \"{route}\"\ncomponent = \"{component}\"\n"
            ));
        }
        let mut ids: Vec<_> = routes.iter().map(|(_, c)| *c).collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            text.push_str(&format!("[component.{id}]\nsource = \"{id}.wasm\"\n"));
        }
        let m = LoadedManifest::parse(Path::new("spin.toml"), text).unwrap();
        Router::build(&m).unwrap()
    }

    fn component(r: &Router, path: &str) -> Option<String> {
        r.route(path).map(|m| m.component.to_string())
    }

    #[test]
    fn exact_beats_wildcard_and_longest_prefix_wins() {
        let r = router(&[
            ("/...", "all"),
            ("/one", "one"),
            ("/one/...", "one_w"),
            ("/one/two/...", "two_w"),
        ]);
        assert_eq!(component(&r, "/one").as_deref(), Some("one"));
        assert_eq!(component(&r, "/one/x").as_deref(), Some("one_w"));
        assert_eq!(component(&r, "/one/two/three").as_deref(), Some("two_w"));
        assert_eq!(component(&r, "/").as_deref(), Some("all"));
    }

    #[test]
    fn no_match_without_a_catch_all() {
        let r = router(&[("/healthz", "p")]);
        assert_eq!(component(&r, "/nope"), None);
        assert_eq!(component(&r, "/healthz").as_deref(), Some("p"));
    }

    #[test]
    fn last_duplicate_wins() {
        let r = router(&[("/x", "first"), ("/x", "second")]);
        assert_eq!(component(&r, "/x").as_deref(), Some("second"));
    }

    #[test]
    fn path_info_and_captures() {
        let r = router(&[("/foo/...", "w"), ("/users/:id/posts/...", "c")]);
        let m = r.route("/foo/bar/baz/").unwrap();
        assert_eq!(m.path_info, "/bar/baz/");
        let route = m.component_route.as_ref().and_then(|v| v.to_str().ok());
        assert_eq!(route, Some("/foo"));
        assert_eq!(r.route("/foo").unwrap().path_info, "");
        let m = r.route("/users/42/posts/7").unwrap();
        assert_eq!(m.captures, vec![("id".to_string(), "42".to_string())]);
        assert_eq!(m.path_info, "/7");
        let mut headers = HeaderMap::new();
        m.add_spin_headers(
            &mut headers,
            "http://h:1/users/42/posts/7?q=1".to_owned(),
            &ClientAddr::new("127.0.0.1:9".parse().unwrap()),
        );
        let get = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
        assert_eq!(
            get("spin-full-url"),
            Some("http://h:1/users/42/posts/7?q=1")
        );
        assert_eq!(get("spin-matched-route"), Some("/users/:id/posts/..."));
        assert_eq!(get("spin-component-route"), Some("/users/:id/posts"));
        assert_eq!(get("spin-path-match-id"), Some("42"));
        assert_eq!(get("spin-client-addr"), Some("127.0.0.1:9"));
        assert_eq!(get("spin-base-path"), Some("/"));
    }
}
