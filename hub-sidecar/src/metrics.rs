//! Counters and gauges for `/metrics`, in Prometheus text format.

use std::{
    fmt::Write as _,
    sync::atomic::{AtomicI64, AtomicU64, Ordering},
    time::Duration,
};

use crate::event_queue::Offered;

/// Upper bounds (seconds) of the relay latency histogram's buckets.
const LATENCY_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 10.0];

/// Everything the hub counts.
#[derive(Debug, Default)]
pub struct Metrics {
    gateways: AtomicI64,
    browsers: AtomicI64,
    frames_in: AtomicU64,
    bytes_in: AtomicU64,
    messages_out: AtomicU64,
    bytes_out: AtomicU64,
    evictions: AtomicU64,
    invalid_events: AtomicU64,
    events_recorded: AtomicU64,
    events_coalesced: AtomicU64,
    events_dropped_full: AtomicU64,
    events_refused: AtomicU64,
    app_errors: AtomicU64,
    flooders_closed: AtomicU64,
    frames_dropped: AtomicU64,
    sockets_refused: AtomicU64,
    inputs_limited: AtomicU64,
    catch_ups: AtomicU64,
    gaps: AtomicU64,
    bridge_publishes: AtomicU64,
    bridge_records: AtomicU64,
    bridge_deliveries: AtomicU64,
    relay_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    relay_count: AtomicU64,
    relay_micros: AtomicU64,
}

impl Metrics {
    /// A gateway socket opened (`+1`) or closed (`-1`).
    pub fn gateways(&self, delta: i64) {
        self.gateways.fetch_add(delta, Ordering::Relaxed);
    }

    /// A browser socket opened (`+1`) or closed (`-1`).
    pub fn browsers(&self, delta: i64) {
        self.browsers.fetch_add(delta, Ordering::Relaxed);
    }

    /// Gateway and browser sockets still open.
    pub fn open_sockets(&self) -> i64 {
        self.gateways.load(Ordering::Relaxed) + self.browsers.load(Ordering::Relaxed)
    }

    /// A message of `len` bytes arrived from a gateway.
    pub fn received(&self, len: usize) {
        self.frames_in.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(len as u64, Ordering::Relaxed);
    }

    /// `messages` messages of `bytes` bytes in all were written to a socket.
    pub fn sent(&self, messages: usize, bytes: usize) {
        self.messages_out
            .fetch_add(messages as u64, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Several hubs: one pub/sub message to another hub's browsers carried `records` messages
    /// (each once) for `deliveries` browser messages.
    pub fn bridged(&self, records: usize, deliveries: usize) {
        self.bridge_publishes.fetch_add(1, Ordering::Relaxed);
        self.bridge_records
            .fetch_add(records as u64, Ordering::Relaxed);
        self.bridge_deliveries
            .fetch_add(deliveries as u64, Ordering::Relaxed);
    }

    /// A browser was closed for not keeping up.
    pub fn evicted(&self) {
        self.evictions.fetch_add(1, Ordering::Relaxed);
    }

    /// A gateway sent an event that breaks the protocol's limits; it was ignored.
    pub fn invalid_event(&self) {
        self.invalid_events.fetch_add(1, Ordering::Relaxed);
    }

    /// What the recorder did with an offered event.
    pub fn events_offered(&self, offered: &Offered) {
        if offered.coalesced {
            self.events_coalesced.fetch_add(1, Ordering::Relaxed);
        }
        self.events_dropped_full
            .fetch_add(offered.dropped_health, Ordering::Relaxed);
    }

    /// The app recorded `count` events.
    pub fn events_recorded(&self, count: usize) {
        self.events_recorded
            .fetch_add(count as u64, Ordering::Relaxed);
    }

    /// The app refused a batch of `count` events (a 4xx): they are dropped.
    pub fn events_refused(&self, count: usize) {
        self.events_refused
            .fetch_add(count as u64, Ordering::Relaxed);
    }

    /// A call to the app failed (no answer, 5xx); it is retried.
    pub fn app_error(&self) {
        self.app_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A gateway was closed for sending events past its cap.
    pub fn flooder_closed(&self) {
        self.flooders_closed.fetch_add(1, Ordering::Relaxed);
    }

    /// An output frame of a session past its gateway's session cap was dropped.
    pub fn frame_dropped(&self) {
        self.frames_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// An upgrade was refused (503) at the socket cap.
    pub fn socket_refused(&self) {
        self.sockets_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// A browser message was dropped for going past the browser's input rate.
    pub fn input_limited(&self) {
        self.inputs_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// A browser's queue was half full: it catches up from the replay window as it drains.
    pub fn caught_up_later(&self) {
        self.catch_ups.fetch_add(1, Ordering::Relaxed);
    }

    /// A browser was sent a `gap` (its frames were gone from the replay window).
    pub fn gap(&self) {
        self.gaps.fetch_add(1, Ordering::Relaxed);
    }

    /// A relayed command was answered after `took`.
    pub fn relayed(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        for (bucket, bound) in self.relay_buckets.iter().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.relay_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.relay_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut line = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        line(
            "chatcode_hub_gateways_connected",
            "gauge",
            "Gateway sockets open.",
            self.gateways.load(Ordering::Relaxed).to_string(),
        );
        line(
            "chatcode_hub_browsers_connected",
            "gauge",
            "Browser sockets open.",
            self.browsers.load(Ordering::Relaxed).to_string(),
        );
        line(
            "chatcode_hub_gateway_messages_total",
            "counter",
            "Messages received from gateways.",
            load(&self.frames_in),
        );
        line(
            "chatcode_hub_gateway_bytes_total",
            "counter",
            "Bytes received from gateways.",
            load(&self.bytes_in),
        );
        line(
            "chatcode_hub_sent_messages_total",
            "counter",
            "Messages written to sockets.",
            load(&self.messages_out),
        );
        line(
            "chatcode_hub_sent_bytes_total",
            "counter",
            "Bytes written to sockets.",
            load(&self.bytes_out),
        );
        line(
            "chatcode_hub_bridge_publishes_total",
            "counter",
            "Several hubs: pub/sub messages sent to other hubs' browsers.",
            load(&self.bridge_publishes),
        );
        line(
            "chatcode_hub_bridge_records_total",
            "counter",
            "Several hubs: messages those carried, each once for all its browsers on one hub.",
            load(&self.bridge_records),
        );
        line(
            "chatcode_hub_bridge_deliveries_total",
            "counter",
            "Several hubs: browser messages those records stood for (one per browser).",
            load(&self.bridge_deliveries),
        );
        line(
            "chatcode_hub_evictions_total",
            "counter",
            "Browsers closed for falling behind (a JSON message did not fit, or a write stalled).",
            load(&self.evictions),
        );
        line(
            "chatcode_hub_gateway_events_invalid_total",
            "counter",
            "Gateway events ignored for breaking the protocol's limits.",
            load(&self.invalid_events),
        );
        line(
            "chatcode_hub_events_recorded_total",
            "counter",
            "Gateway and connection events the app recorded.",
            load(&self.events_recorded),
        );
        line(
            "chatcode_hub_events_coalesced_total",
            "counter",
            "Health reports replaced by a newer one before they were recorded.",
            load(&self.events_coalesced),
        );
        line(
            "chatcode_hub_events_dropped_total",
            "counter",
            "Health reports dropped because their gateway's event queue was full.",
            load(&self.events_dropped_full),
        );
        line(
            "chatcode_hub_events_refused_total",
            "counter",
            "Events in batches the app refused (HTTP 4xx): never recorded.",
            load(&self.events_refused),
        );
        line(
            "chatcode_hub_app_errors_total",
            "counter",
            "Calls to the app that failed and were retried.",
            load(&self.app_errors),
        );
        line(
            "chatcode_hub_gateways_flooding_closed_total",
            "counter",
            "Gateway sockets closed (1008) for sending events past their cap.",
            load(&self.flooders_closed),
        );
        line(
            "chatcode_hub_frames_dropped_total",
            "counter",
            "Output frames dropped: their session was past the gateway's session cap.",
            load(&self.frames_dropped),
        );
        line(
            "chatcode_hub_sockets_refused_total",
            "counter",
            "WebSocket upgrades refused (503) at the socket cap.",
            load(&self.sockets_refused),
        );
        line(
            "chatcode_hub_browser_messages_limited_total",
            "counter",
            "Browser messages dropped for going past the browser's input rate.",
            load(&self.inputs_limited),
        );
        line(
            "chatcode_hub_browser_catch_ups_total",
            "counter",
            "Times a browser fell half a queue behind and caught up from the replay window.",
            load(&self.catch_ups),
        );
        line(
            "chatcode_hub_browser_gaps_total",
            "counter",
            "Gaps sent to browsers (frames gone from the replay window; a snapshot follows).",
            load(&self.gaps),
        );
        let name = "chatcode_hub_relay_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Relayed command round trips.\n# TYPE {name} histogram"
        );
        for (bucket, bound) in self.relay_buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", load(bucket));
        }
        let count = load(&self.relay_count);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.relay_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::default();
        metrics.gateways(1);
        metrics.received(10);
        metrics.relayed(Duration::from_millis(3));
        let text = metrics.render();
        assert!(text.contains("chatcode_hub_gateways_connected 1\n"));
        assert!(text.contains("chatcode_hub_gateway_bytes_total 10\n"));
        assert!(text.contains("chatcode_hub_relay_seconds_bucket{le=\"0.0025\"} 0\n"));
        assert!(text.contains("chatcode_hub_relay_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("chatcode_hub_relay_seconds_count 1\n"));
    }
}
