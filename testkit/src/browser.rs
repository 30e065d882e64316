//! A browser for system tests: it keeps the `chatcode_session` cookie it is given and sends
//! it back, the way a signed-in tab does.

use reqwest::blocking::Response;
use serde_json::{Value, json};

use crate::{Process, client};

/// The session cookie's name.
const SESSION_COOKIE: &str = "chatcode_session";

/// A cookie jar holding one session, talking to one app.
pub struct Browser<'a> {
    app: &'a Process,
    /// `name=value` of the session cookie, if signed in.
    pub cookie: Option<String>,
}

impl<'a> Browser<'a> {
    /// A browser with no cookies.
    pub fn new(app: &'a Process) -> Self {
        Self { app, cookie: None }
    }

    /// Sends a request (JSON body if given) and returns the raw response, keeping any session
    /// cookie it sets.
    ///
    /// # Panics
    /// If the request cannot be sent.
    pub fn request(&mut self, method: &str, path: &str, body: Option<Value>) -> Response {
        let http = client();
        let mut request = http.request(
            method.parse().expect("a valid HTTP method"),
            self.app.url(path),
        );
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().expect("sending a request to the app");
        if let Some(set) = session_cookie(&response) {
            let pair = set.split(';').next().unwrap_or_default().to_string();
            self.cookie = (!pair.ends_with('=')).then_some(pair);
        }
        response
    }

    /// Sends a request and returns its status and JSON body (`null` when there is none).
    pub fn send(&mut self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let response = self.request(method, path, body);
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// Signs in through the development login and returns the profile.
    ///
    /// # Panics
    /// If the login is refused.
    pub fn login(&mut self, username: &str) -> Value {
        let (status, body) = self.send(
            "POST",
            "/auth/dev/login",
            Some(json!({ "username": username })),
        );
        assert_eq!(status, 200, "development login failed: {body}");
        body
    }
}

/// The `chatcode_session` cookie a response sets, with its attributes.
pub fn session_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| {
            c.strip_prefix(SESSION_COOKIE)
                .is_some_and(|rest| rest.starts_with('='))
        })
        .map(str::to_string)
}
