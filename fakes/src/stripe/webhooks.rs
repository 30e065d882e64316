//! The webhook queue: which events go to the endpoint, when (at once, after a back-off, or when
//! a test releases a held one) and how they are signed; and what the endpoint answered.

use std::{collections::VecDeque, time::Duration};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::StripeConfig;

/// Deliveries waiting (automatic and released); more are dropped.
const MAX_JOBS: usize = 10_000;
/// Delivery attempts kept for tests to read.
const MAX_ATTEMPTS_KEPT: usize = 1000;
/// Longest back-off between two tries of one event.
const MAX_BACKOFF_MS: u64 = 3_600_000;

/// How one delivery is signed; anything but `Normal` is a test's doing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Signing {
    /// As Stripe signs: now, with the endpoint's secret (and with the previous one too, as
    /// two `v1` entries, while it is being rolled).
    #[default]
    Normal,
    /// Signed correctly, but with a timestamp this far in the past (a replayed delivery).
    Stale(Duration),
    /// Signed correctly, then the body changed on the way (`"livemode": true`).
    TamperedBody,
    /// Two `v1` entries: one with this other secret, first, then the endpoint's.
    AlsoWith(String),
    /// Signed only with this other secret.
    OnlyWith(String),
}

/// One POST of an event to the endpoint, and how the endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttempt {
    /// The event's id (`evt_…`).
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// 1 for the first try of an automatic delivery, 2 for its first retry, …
    pub attempt: u32,
    /// False when a test released it by hand (those are not retried).
    pub automatic: bool,
    /// Where it went.
    pub url: String,
    /// The `Stripe-Signature` header sent.
    pub signature: String,
    /// The body sent, byte for byte.
    pub body: String,
    /// The endpoint's status code; `None` if it never answered.
    pub status: Option<u16>,
    /// The endpoint's answer body (the first 4 KiB).
    pub response: String,
    /// Why there was no answer (refused, timed out, …).
    pub error: Option<String>,
}

impl WebhookAttempt {
    /// Whether the endpoint acknowledged it (any 2xx).
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// The body as JSON (the Event object).
    pub fn event(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>`: a `Stripe-Signature` header
/// value, signed the way Stripe signs webhooks (the secret used as-is, `whsec_` included).
pub fn sign(secret: &str, timestamp: u64, body: &str) -> String {
    format!("t={timestamp},v1={}", v1(secret, timestamp, body))
}

/// The lowercase hex HMAC-SHA256 of `"{timestamp}.{body}"` keyed with `secret`.
fn v1(secret: &str, timestamp: u64, body: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The endpoint: its URL and secrets.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub url: String,
    pub secret: String,
    /// The secret before the last roll, still signing alongside the new one.
    pub previous_secret: Option<String>,
}

/// A delivery waiting for its time.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub event_id: String,
    pub due_ms: u64,
    pub attempt: u32,
    pub signing: Signing,
    pub automatic: bool,
}

/// A delivery ready to go out: where, what and signed how.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub job: Job,
    pub event_type: String,
    pub url: String,
    pub signature: String,
    pub body: String,
}

#[derive(Debug)]
pub(crate) struct Webhooks {
    pub endpoint: Option<Endpoint>,
    enabled: Vec<String>,
    /// Events wait in `held` instead of going out.
    pub held: bool,
    held_events: VecDeque<String>,
    jobs: VecDeque<Job>,
    attempts: VecDeque<WebhookAttempt>,
}

impl Webhooks {
    pub(crate) fn new(config: &StripeConfig) -> Self {
        Self {
            endpoint: config.webhook_url.as_ref().map(|url| Endpoint {
                url: url.clone(),
                secret: config.webhook_secret.clone(),
                previous_secret: None,
            }),
            enabled: config.enabled_events.clone(),
            held: false,
            held_events: VecDeque::new(),
            jobs: VecDeque::new(),
            attempts: VecDeque::new(),
        }
    }

    /// Whether an endpoint is set and enabled for events of this type.
    pub(crate) fn wants(&self, kind: &str) -> bool {
        self.endpoint.is_some() && self.enabled.iter().any(|e| e == "*" || e == kind)
    }

    fn push(&mut self, job: Job) {
        if self.jobs.len() < MAX_JOBS {
            self.jobs.push_back(job);
        }
    }

    /// A new event for the endpoint: sent at once, or held.
    pub(crate) fn enqueue(&mut self, event_id: &str, now_ms: u64) {
        if self.held {
            if self.held_events.len() >= MAX_JOBS {
                self.held_events.pop_front();
            }
            self.held_events.push_back(event_id.to_owned());
        } else {
            self.push(Job {
                event_id: event_id.to_owned(),
                due_ms: now_ms,
                attempt: 1,
                signing: Signing::Normal,
                automatic: true,
            });
        }
    }

    /// One delivery of `event_id` now, signed as told, never retried.
    pub(crate) fn release(&mut self, event_id: &str, signing: Signing, now_ms: u64) {
        self.held_events.retain(|e| e != event_id);
        self.push(Job {
            event_id: event_id.to_owned(),
            due_ms: now_ms,
            attempt: 1,
            signing,
            automatic: false,
        });
    }

    /// Stops holding: held events go out, automatically, in the order they happened.
    pub(crate) fn resume(&mut self, now_ms: u64) {
        self.held = false;
        for event_id in std::mem::take(&mut self.held_events) {
            self.enqueue(&event_id, now_ms);
        }
    }

    /// Ids of the events held, oldest first.
    pub(crate) fn held_events(&self) -> Vec<String> {
        self.held_events.iter().cloned().collect()
    }

    /// Removes and returns the deliveries due by `now_ms`.
    pub(crate) fn take_due(&mut self, now_ms: u64) -> Vec<Job> {
        let (due, later): (VecDeque<Job>, VecDeque<Job>) = std::mem::take(&mut self.jobs)
            .into_iter()
            .partition(|j| j.due_ms <= now_ms);
        self.jobs = later;
        due.into()
    }

    /// The `Stripe-Signature` for `body`, and the body as sent, per `signing`.
    pub(crate) fn signed(
        &self,
        signing: &Signing,
        now_secs: u64,
        body: String,
    ) -> Option<(String, String)> {
        let endpoint = self.endpoint.as_ref()?;
        let mut secrets: Vec<&str> = endpoint
            .previous_secret
            .iter()
            .map(String::as_str)
            .collect();
        secrets.push(&endpoint.secret);
        let mut timestamp = now_secs;
        match signing {
            Signing::Normal | Signing::TamperedBody => {}
            Signing::Stale(by) => timestamp = now_secs.saturating_sub(by.as_secs()),
            Signing::AlsoWith(other) => secrets.insert(0, other),
            Signing::OnlyWith(other) => secrets = vec![other],
        }
        let mut header = format!("t={timestamp}");
        for secret in secrets {
            header.push_str(",v1=");
            header.push_str(&v1(secret, timestamp, &body));
        }
        let body = if *signing == Signing::TamperedBody {
            body.replacen("\"livemode\": false", "\"livemode\": true", 1)
        } else {
            body
        };
        Some((header, body))
    }

    /// Records an attempt; a failed automatic one is tried again after a back-off that
    /// doubles each time, until `max_attempts`. True if the endpoint acknowledged it.
    pub(crate) fn record(
        &mut self,
        job: Job,
        attempt: WebhookAttempt,
        now_ms: u64,
        config: &StripeConfig,
    ) -> bool {
        let ok = attempt.succeeded();
        if self.attempts.len() >= MAX_ATTEMPTS_KEPT {
            self.attempts.pop_front();
        }
        self.attempts.push_back(attempt);
        if !ok && job.automatic && job.attempt < config.webhook_max_attempts {
            let base = u64::try_from(config.webhook_backoff.as_millis()).unwrap_or(u64::MAX);
            let backoff = base
                .saturating_mul(1 << (job.attempt - 1).min(20))
                .min(MAX_BACKOFF_MS);
            self.push(Job {
                due_ms: now_ms.saturating_add(backoff),
                attempt: job.attempt + 1,
                ..job
            });
        }
        ok
    }

    /// Every attempt kept, oldest first.
    pub(crate) fn attempts(&self) -> Vec<WebhookAttempt> {
        self.attempts.iter().cloned().collect()
    }

    /// Forgets the attempts kept.
    pub(crate) fn clear_attempts(&mut self) {
        self.attempts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_stripes_libraries_verify() {
        // Python: hmac.new(b"whsec_test", b'1700000000.{"id":"evt_test"}', sha256).hexdigest()
        assert_eq!(
            sign("whsec_test", 1_700_000_000, r#"{"id":"evt_test"}"#),
            "t=1700000000,v1=14c4f43763339dcb1c15f41a1ff31a94f2f09f8de278f8b4392ca0d7cbcd257e"
        );
    }

    #[test]
    fn failed_automatic_deliveries_back_off() {
        let config = StripeConfig {
            webhook_url: Some("http://127.0.0.1:9/hook".into()),
            webhook_backoff: Duration::from_millis(100),
            webhook_max_attempts: 3,
            ..StripeConfig::default()
        };
        let mut hooks = Webhooks::new(&config);
        hooks.enqueue("evt_1", 0);
        let mut dues = Vec::new();
        let mut now = 0;
        while let Some(job) = hooks.take_due(u64::MAX).pop() {
            dues.push(job.due_ms);
            let attempt = WebhookAttempt {
                event_id: job.event_id.clone(),
                event_type: "x".into(),
                attempt: job.attempt,
                automatic: true,
                url: String::new(),
                signature: String::new(),
                body: String::new(),
                status: Some(500),
                response: String::new(),
                error: None,
            };
            now += 1000;
            hooks.record(job, attempt, now, &config);
        }
        assert_eq!(dues, vec![0, 1100, 2200]);
        assert_eq!(hooks.attempts().len(), 3);
    }
}
