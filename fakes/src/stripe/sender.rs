//! The webhook sender: a thread with its own runtime that POSTs due deliveries to the
//! endpoint, for as long as the fake's server runs.

use std::{sync::Weak, thread, time::Duration};

use anyhow::Context;
use axum::http::{HeaderMap, HeaderValue, header};

use super::{
    state::StripeState,
    webhooks::{Prepared, WebhookAttempt},
};

/// How often the sender looks for due retries when nothing wakes it.
const POLL: Duration = Duration::from_millis(20);
/// The part of an endpoint's answer kept for tests.
const MAX_RESPONSE: usize = 4096;
/// The `User-Agent` Stripe's webhooks carry.
const USER_AGENT: &str = "Stripe/1.0 (+https://stripe.com/docs/webhooks)";

/// Starts the sender; it stops once `alive` (held by the server's router) is gone.
pub(crate) fn spawn(state: StripeState, alive: Weak<()>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the webhook sender's runtime")?;
    let client = {
        let _entered = runtime.enter();
        reqwest::Client::builder()
            .timeout(state.config().webhook_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the webhook client")?
    };
    thread::Builder::new()
        .name("stripe-webhooks".to_owned())
        .spawn(move || runtime.block_on(run(state, alive, client)))
        .context("spawning the webhook sender")?;
    Ok(())
}

async fn run(state: StripeState, alive: Weak<()>, client: reqwest::Client) {
    while alive.strong_count() > 0 {
        for delivery in prepare_due(&state) {
            let attempt = send(&client, &delivery).await;
            let now = state.now_ms();
            let mut inner = state.lock();
            let event_id = delivery.job.event_id.clone();
            if inner
                .webhooks
                .record(delivery.job, attempt, now, state.config())
                && let Some(event) = inner.events.get_mut(&event_id)
            {
                event.delivered = true;
            }
        }
        tokio::select! {
            () = state.0.wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Takes the due deliveries and renders each event as it is now, signed.
fn prepare_due(state: &StripeState) -> Vec<Prepared> {
    let now_ms = state.now_ms();
    let api_version = &state.config().api_version;
    let mut inner = state.lock();
    let jobs = inner.webhooks.take_due(now_ms);
    jobs.into_iter()
        .filter_map(|job| {
            let event = inner.events.get(&job.event_id)?;
            let body = serde_json::to_string_pretty(&event.to_json(api_version, 1)).ok()?;
            let (signature, body) = inner.webhooks.signed(&job.signing, now_ms / 1000, body)?;
            let url = inner.webhooks.endpoint.as_ref()?.url.clone();
            Some(Prepared {
                event_type: event.kind.clone(),
                job,
                url,
                signature,
                body,
            })
        })
        .collect()
}

async fn send(client: &reqwest::Client, delivery: &Prepared) -> WebhookAttempt {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("*/*; q=0.5, application/xml"),
    );
    if let Ok(value) = HeaderValue::from_str(&delivery.signature) {
        headers.insert("stripe-signature", value);
    }
    let result = client
        .post(&delivery.url)
        .headers(headers)
        .body(delivery.body.clone())
        .send()
        .await;
    let (status, response, error) = match result {
        Ok(answer) => {
            let status = answer.status().as_u16();
            let text = answer.text().await.unwrap_or_default();
            let cut = (0..=MAX_RESPONSE.min(text.len()))
                .rev()
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            (Some(status), text[..cut].to_owned(), None)
        }
        Err(e) => (None, String::new(), Some(e.to_string())),
    };
    WebhookAttempt {
        event_id: delivery.job.event_id.clone(),
        event_type: delivery.event_type.clone(),
        attempt: delivery.job.attempt,
        automatic: delivery.job.automatic,
        url: delivery.url.clone(),
        signature: delivery.signature.clone(),
        body: delivery.body.clone(),
        status,
        response,
        error,
    }
}
