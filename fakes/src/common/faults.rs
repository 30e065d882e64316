//! Faults a test queues for an endpoint: its next calls fail, or hang, as told.

use std::{
    collections::{HashMap, VecDeque},
    hash::Hash,
    sync::{Mutex, PoisonError},
    time::Duration,
};

/// How one call to an endpoint misbehaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and the service's own error body for it
    /// (for example 401, 404, 500, 503).
    Status(u16),
    /// Answer as the service does when rate limited, with a `retry-after` of
    /// this many seconds (DigitalOcean: 429; GitHub: 403 secondary limit).
    RateLimited {
        /// Seconds in the `retry-after` header.
        retry_after: u64,
    },
    /// Wait this long, then answer normally (for client timeouts).
    Hang(Duration),
    /// Do the work at once but send the answer only after this long: the client times
    /// out on a request that took effect (a lost answer).
    Late(Duration),
}

/// Most faults queued for one endpoint; more are dropped.
const MAX_QUEUED: usize = 10_000;

/// Per-endpoint queues of pending faults.
#[derive(Debug)]
pub(crate) struct FaultPlan<E> {
    queues: Mutex<HashMap<E, VecDeque<Fault>>>,
}

impl<E> Default for FaultPlan<E> {
    fn default() -> Self {
        Self {
            queues: Mutex::new(HashMap::new()),
        }
    }
}

impl<E: Eq + Hash + Copy> FaultPlan<E> {
    /// The next `times` calls to `endpoint` get `fault` (after any queued).
    pub(crate) fn push(&self, endpoint: E, times: usize, fault: Fault) {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = queues.entry(endpoint).or_default();
        let room = MAX_QUEUED.saturating_sub(queue.len());
        queue.extend(std::iter::repeat_n(fault, times.min(room)));
    }

    /// The fault for this call, if one is queued.
    pub(crate) fn pop(&self, endpoint: E) -> Option<Fault> {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        queues.get_mut(&endpoint).and_then(VecDeque::pop_front)
    }

    /// Forgets every queued fault.
    pub(crate) fn clear(&self) {
        self.queues
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
