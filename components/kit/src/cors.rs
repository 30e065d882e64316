//! CORS for `/api/*`: only the origins listed in the `cors_allowed_origins` variable
//! (comma-separated, exact `scheme://host[:port]`; empty by default) are named in
//! `Access-Control-Allow-Origin`, with credentials allowed. Never `*`: a cookie-bearing API
//! must name its origin. Other origins get no CORS headers at all.

use spin_sdk::http::{Method, Request, Response};

use crate::config;

/// Headers a cross-origin caller may send.
const ALLOW_HEADERS: &str = "authorization, content-type, idempotency-key";
/// How long a browser may keep a preflight's answer, in seconds.
const MAX_AGE: &str = "600";

/// A cross-origin request to `/api/*`, and whether its origin is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// The allowed origin, exactly as the request named it; `None` when not allowed.
    origin: Option<String>,
}

impl Cors {
    /// `Some` for a request to `/api/*` that carries an `Origin` header.
    pub fn for_request(req: &Request) -> Option<Self> {
        if !req.path().starts_with("/api/") {
            return None;
        }
        let origin = req.header("origin")?.as_str()?;
        let listed = config::optional("cors_allowed_origins").unwrap_or_default();
        Some(Self::decide(origin, &listed))
    }

    /// Whether `origin` is one of the comma-separated `listed` origins.
    pub fn decide(origin: &str, listed: &str) -> Self {
        let allowed = origin != "null"
            && listed
                .split(',')
                .map(|o| o.trim().trim_end_matches('/'))
                .any(|o| !o.is_empty() && o != "*" && o == origin);
        Self {
            origin: allowed.then(|| origin.to_owned()),
        }
    }

    /// The answer to a preflight (`OPTIONS`) of a route serving `methods`: 204, with the CORS
    /// headers only for an allowed origin.
    pub fn preflight(&self, methods: &[Method]) -> Response {
        let mut response = Response::builder()
            .status(204)
            .header(
                "vary",
                "origin, access-control-request-method, access-control-request-headers",
            )
            .build();
        if self.origin.is_some() {
            let allow: Vec<String> = methods.iter().map(ToString::to_string).collect();
            response.set_header("access-control-allow-methods", allow.join(", "));
            response.set_header("access-control-allow-headers", ALLOW_HEADERS);
            response.set_header("access-control-max-age", MAX_AGE);
        }
        self.decorate(&mut response);
        response
    }

    /// Adds the origin's CORS headers to an answer, if it is allowed; always `Vary: Origin`.
    pub fn decorate(&self, response: &mut Response) {
        if response.header("vary").is_none() {
            response.set_header("vary", "origin");
        }
        if let Some(origin) = &self.origin {
            response.set_header("access-control-allow-origin", origin.clone());
            response.set_header("access-control-allow-credentials", "true");
        }
    }
}

#[cfg(test)]
mod tests {
    use spin_sdk::http::Method;

    use super::Cors;

    fn header(response: &spin_sdk::http::Response, name: &str) -> Option<String> {
        response
            .header(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }

    #[test]
    fn only_listed_origins_are_named() {
        let listed = "https://app.example.com, http://localhost:5173/";
        assert!(
            Cors::decide("https://app.example.com", listed)
                .origin
                .is_some()
        );
        assert!(
            Cors::decide("http://localhost:5173", listed)
                .origin
                .is_some()
        );
        assert!(
            Cors::decide("https://evil.example.com", listed)
                .origin
                .is_none()
        );
        assert!(
            Cors::decide("https://app.example.com.evil", listed)
                .origin
                .is_none()
        );
        assert!(Cors::decide("null", "null").origin.is_none());
        assert!(Cors::decide("https://a.example", "*").origin.is_none());
        assert!(Cors::decide("https://a.example", "").origin.is_none());
    }

    #[test]
    fn allowed_origins_get_credentials_and_never_a_wildcard() {
        let cors = Cors::decide("https://app.example.com", "https://app.example.com");
        let preflight = cors.preflight(&[Method::Get, Method::Post]);
        assert_eq!(*preflight.status(), 204);
        assert_eq!(
            header(&preflight, "access-control-allow-origin").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(
            header(&preflight, "access-control-allow-credentials").as_deref(),
            Some("true")
        );
        assert_eq!(
            header(&preflight, "access-control-allow-methods").as_deref(),
            Some("GET, POST")
        );
        let refused = Cors::decide("https://evil.example.com", "https://app.example.com")
            .preflight(&[Method::Get]);
        assert_eq!(header(&refused, "access-control-allow-origin"), None);
        assert_eq!(header(&refused, "access-control-allow-methods"), None);
        assert_eq!(header(&refused, "access-control-allow-credentials"), None);
    }
}
