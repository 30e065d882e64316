//! Where a request's time goes: recorded only when the log asks for it
//! (`RUST_LOG=chatcode_runtime::timing=debug`), and then logged once per request.
//!
//! The line splits the request into its phases — waiting for an instance, the guest until it
//! answers, the body after — and the guest's part into the host calls it made (key-value,
//! SQLite, variables, outbound HTTP: count and time each) and its own computing (the rest).
//! For a guest that calls out once, as the sessions component relays a command through the
//! hub, it also gives the time before the outbound call, the call itself (until the response
//! head), and after it. `guest_cpu_us` is the CPU time the request thread used while the
//! guest ran (its host calls and outbound I/O included): next to `guest_us` it tells computing
//! from waiting, and a slow machine from a slow path. With the log quieter than that, nothing
//! is timed: a request costs one check of the log filter.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

/// The log target the timings are written to, at `debug`.
pub const TARGET: &str = "chatcode_runtime::timing";

/// A kind of host call a guest makes.
#[derive(Debug, Clone, Copy)]
pub enum HostCall {
    /// `fermyon:spin/key-value`.
    KeyValue,
    /// `fermyon:spin/sqlite`.
    Sqlite,
    /// `fermyon:spin/variables`.
    Variables,
}

/// One request's timings, shared by the server and the request's host state.
#[derive(Debug, Clone)]
pub struct Timeline {
    shared: Arc<Mutex<Marks>>,
}

#[derive(Debug, Default)]
struct Marks {
    /// Of the server's wait for the answer and the guest's run, how many are over.
    parts_over: u8,
    arrived: Option<Instant>,
    instantiate: Option<Duration>,
    guest_started: Option<Instant>,
    answered: Option<Instant>,
    /// The request thread's CPU time when the guest started, and when it answered.
    cpu_started: Option<Duration>,
    cpu_answered: Option<Duration>,
    first_outbound: Option<Instant>,
    first_outbound_answered: Option<Instant>,
    outbound: Spent,
    key_value: Spent,
    sqlite: Spent,
    variables: Spent,
}

#[derive(Debug, Default, Clone, Copy)]
struct Spent {
    calls: u32,
    time: Duration,
}

impl Spent {
    fn add(&mut self, time: Duration) {
        self.calls += 1;
        self.time += time;
    }
}

impl Timeline {
    /// A timeline for a request that arrived at `arrived`, if the log wants timings.
    pub fn start(arrived: Instant) -> Option<Self> {
        tracing::enabled!(target: TARGET, tracing::Level::DEBUG).then(|| Self {
            shared: Arc::new(Mutex::new(Marks {
                arrived: Some(arrived),
                ..Marks::default()
            })),
        })
    }

    fn marks(&self) -> std::sync::MutexGuard<'_, Marks> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The instance is ready; `made_since` is when the request began making it (`None` when a
    /// spare was ready).
    pub fn instance_ready(&self, made_since: Option<Instant>) {
        let now = Instant::now();
        let mut marks = self.marks();
        marks.instantiate = made_since.map(|since| now - since);
        marks.guest_started = Some(now);
        marks.cpu_started = Some(thread_cpu());
    }

    /// The server has the guest's answer (or gave up waiting for it).
    pub fn answered(&self, component: &str, path: &str) {
        let mut marks = self.marks();
        marks.answered = Some(Instant::now());
        marks.cpu_answered = Some(thread_cpu());
        marks.part_over(component, path);
    }

    /// The guest returned.
    pub fn guest_returned(&self, component: &str, path: &str) {
        self.marks().part_over(component, path);
    }

    /// A host call of `kind` that began at `since` returned.
    pub fn host_call(&self, kind: HostCall, since: Instant) {
        let spent = since.elapsed();
        let mut marks = self.marks();
        match kind {
            HostCall::KeyValue => marks.key_value.add(spent),
            HostCall::Sqlite => marks.sqlite.add(spent),
            HostCall::Variables => marks.variables.add(spent),
        }
    }

    /// An outbound request left at `sent` and its response head came back now.
    pub fn outbound(&self, sent: Instant) {
        let now = Instant::now();
        let mut marks = self.marks();
        marks.outbound.add(now - sent);
        if marks.first_outbound.is_none() {
            marks.first_outbound = Some(sent);
            marks.first_outbound_answered = Some(now);
        }
    }
}

impl Marks {
    /// Logs the request's timings once the answer is in and the guest has returned.
    fn part_over(&mut self, component: &str, path: &str) {
        self.parts_over += 1;
        if self.parts_over == 2 {
            self.log(component, path);
        }
    }

    fn log(&self, component: &str, path: &str) {
        let finished = Instant::now();
        let marks = self;
        let Some(arrived) = marks.arrived else { return };
        let started = marks.guest_started.unwrap_or(arrived);
        let answered = marks.answered.unwrap_or(finished);
        let guest = answered.saturating_duration_since(started);
        let host = marks.key_value.time + marks.sqlite.time + marks.variables.time;
        // The guest's own work: its time to the answer less the host calls and outbound
        // requests it waited for (an outbound request's time counts from its send).
        let own = guest.saturating_sub(host + marks.outbound.time);
        let us = |d: Duration| d.as_micros() as u64;
        let between = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => us(b.saturating_duration_since(a)),
            _ => 0,
        };
        tracing::debug!(
            target: TARGET,
            component,
            path,
            total_us = us(answered.saturating_duration_since(arrived)),
            before_guest_us = us(started.saturating_duration_since(arrived)),
            instantiate_us = marks.instantiate.map_or(0, us),
            guest_us = us(guest),
            guest_own_us = us(own),
            guest_cpu_us = match (marks.cpu_started, marks.cpu_answered) {
                (Some(started), Some(answered)) => us(answered.saturating_sub(started)),
                _ => 0,
            },
            key_value_calls = marks.key_value.calls,
            key_value_us = us(marks.key_value.time),
            sqlite_calls = marks.sqlite.calls,
            sqlite_us = us(marks.sqlite.time),
            variables_calls = marks.variables.calls,
            variables_us = us(marks.variables.time),
            outbound_calls = marks.outbound.calls,
            outbound_us = us(marks.outbound.time),
            before_outbound_us = between(Some(started), marks.first_outbound),
            after_outbound_us = between(marks.first_outbound_answered, marks.answered),
            body_us = us(finished.saturating_duration_since(answered)),
            "request timings"
        );
    }
}

/// The CPU time the calling thread has used (a request thread runs its guests' host calls).
fn thread_cpu() -> Duration {
    let used = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(used.tv_sec).unwrap_or(0),
        u32::try_from(used.tv_nsec).unwrap_or(0),
    )
}
