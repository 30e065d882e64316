//! What a fake received and what it will do wrong next: its request journal and fault plan,
//! with the methods tests use to look at both.

use std::hash::Hash;

use super::{
    faults::{Fault, FaultPlan},
    journal::{Journal, RecordedRequest},
};

/// A fake's request journal and queued faults.
#[derive(Debug)]
pub struct Traffic<E> {
    journal: Journal<E>,
    faults: FaultPlan<E>,
}

impl<E: Eq + Hash + Copy> Traffic<E> {
    /// Keeps the last `journal_capacity` requests; no faults queued.
    pub(crate) fn new(journal_capacity: usize) -> Self {
        Self {
            journal: Journal::new(journal_capacity),
            faults: FaultPlan::default(),
        }
    }

    /// Records a request that reached the fake.
    pub(crate) fn record(&self, request: RecordedRequest<E>) {
        self.journal.record(request);
    }

    /// The fault for this call to `endpoint`, if one is queued.
    pub(crate) fn take_fault(&self, endpoint: E) -> Option<Fault> {
        self.faults.pop(endpoint)
    }

    /// How many requests reached `endpoint` (including failed and faulted ones).
    pub fn calls(&self, endpoint: E) -> usize {
        self.journal.count(endpoint)
    }

    /// The requests received (the last `journal_capacity`), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest<E>> {
        self.journal.requests()
    }

    /// The requests received by one endpoint, oldest first.
    pub fn requests_to(&self, endpoint: E) -> Vec<RecordedRequest<E>> {
        self.requests()
            .into_iter()
            .filter(|r| r.endpoint == endpoint)
            .collect()
    }

    /// Forgets recorded requests and call counts.
    pub fn clear_requests(&self) {
        self.journal.clear();
    }

    /// The next `times` calls to `endpoint` get `fault`.
    pub fn fail_next(&self, endpoint: E, times: usize, fault: Fault) {
        self.faults.push(endpoint, times, fault);
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.faults.clear();
    }
}
