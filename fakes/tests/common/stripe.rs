//! Helpers for the Stripe tests: form requests with the secret key, error checks, a
//! webhook receiver, and a signature check written the way Stripe's libraries verify.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    thread,
};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, routing};
use chatcode_fakes::stripe::{DEFAULT_SECRET_KEY, StripeConfig, StripeHandle};
use hmac::{Hmac, Mac};
use reqwest::blocking::Response;
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::oneshot;

use super::client;

/// The key every helper sends.
pub const KEY: &str = DEFAULT_SECRET_KEY;
/// The webhook secret tests configure.
pub const WHSEC: &str = "whsec_testsecretforchatcodewebhooks";

/// A default configuration.
pub fn config() -> StripeConfig {
    StripeConfig::default()
}

/// `POST {path}` with a form body and [`KEY`].
pub fn post(base: &str, path: &str, form: &[(&str, &str)]) -> Response {
    client()
        .post(format!("{base}{path}"))
        .bearer_auth(KEY)
        .form(form)
        .send()
        .expect("post")
}

/// `POST {path}` with a form body, [`KEY`] and an `Idempotency-Key`.
pub fn post_with_key(base: &str, path: &str, form: &[(&str, &str)], key: &str) -> Response {
    client()
        .post(format!("{base}{path}"))
        .bearer_auth(KEY)
        .header("idempotency-key", key)
        .form(form)
        .send()
        .expect("post")
}

/// `GET {path}` with [`KEY`].
pub fn get(base: &str, path: &str) -> Response {
    client()
        .get(format!("{base}{path}"))
        .bearer_auth(KEY)
        .send()
        .expect("get")
}

/// Asserts a 200 and returns the JSON.
pub fn ok(response: Response) -> Value {
    let status = response.status();
    let body: Value = response.json().expect("JSON");
    assert_eq!(status, 200, "{body}");
    body
}

/// Asserts a Stripe error (status, `type`, `code`) and returns the `error` object.
pub fn error(response: Response, status: u16, kind: &str, code: Option<&str>) -> Value {
    assert_eq!(response.status(), status);
    assert!(
        response.headers().contains_key("request-id"),
        "errors carry a Request-Id too"
    );
    let body: Value = response.json().expect("a JSON error");
    let e = body["error"].clone();
    assert_eq!(e["type"], kind, "{body}");
    assert_eq!(e["code"].as_str(), code, "{body}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    e
}

/// A new customer's id.
pub fn customer(base: &str) -> String {
    let c = ok(post(base, "/v1/customers", &[("email", "ada@example.com")]));
    c["id"].as_str().expect("an id").to_owned()
}

/// A customer with a saved card of the given kind: (customer id, payment method id).
pub fn customer_with_card(
    base: &str,
    handle: &StripeHandle,
    card: chatcode_fakes::stripe::TestCard,
) -> (String, String) {
    let cus = customer(base);
    let pm = handle.add_card(&cus, card).expect("a card");
    (cus, pm)
}

/// Stripe's verification: parse `t` and every `v1`, accept if any matches
/// HMAC-SHA256(secret, "{t}.{body}") and `t` is within `tolerance` seconds of `now`.
pub fn verify(header: &str, body: &str, secret: &str, now: u64, tolerance: u64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<u64>().ok(),
            Some(("v1", s)) => signatures.push(s.to_owned()),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    signatures.contains(&expected) && now.abs_diff(t) <= tolerance
}

/// Now, in Unix seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// One webhook the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// Headers, names lowercase.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: String,
}

impl Received {
    /// A header as a string.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON event")
    }
}

#[derive(Default)]
struct Inbox {
    received: Vec<Received>,
    answers: VecDeque<u16>,
}

/// An app's webhook endpoint: records what arrives and answers 200, or the statuses queued.
pub struct Receiver {
    inbox: Arc<Mutex<Inbox>>,
    url: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Receiver {
    /// Listens on a free loopback port, at `/hook`.
    pub fn start() -> Self {
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        listener.set_nonblocking(true).expect("non-blocking");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let app = Router::new()
            .route("/hook", routing::post(receive))
            .with_state(inbox.clone());
        thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stopped => {}
                }
            });
        });
        Self {
            inbox,
            url,
            stop: Some(stop),
        }
    }

    /// Where it listens.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The next answers, in order (200 after them).
    pub fn answer_with(&self, statuses: &[u16]) {
        self.inbox
            .lock()
            .expect("inbox")
            .answers
            .extend(statuses.iter().copied());
    }

    /// What arrived so far.
    pub fn received(&self) -> Vec<Received> {
        self.inbox.lock().expect("inbox").received.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn receive(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::http::StatusCode {
    let mut inbox = inbox.lock().expect("inbox");
    inbox.received.push(Received {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let status = inbox.answers.pop_front().unwrap_or(200);
    axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK)
}
