//! A component's spare instance: made on the request thread once a request is over, while
//! the connection is idle, so the next request starts without instantiating. Each instance
//! still serves exactly one request, as under `spin up`; the spare is only made earlier.

use std::sync::{
    Mutex, PoisonError,
    atomic::{AtomicBool, Ordering},
};

/// At most one instance ready for a component's next request, and whether one is being made.
///
/// So at most one instance per component lives outside a request's instance permit: the
/// engine's pool holds one slot per component for it.
pub struct Spare<T> {
    ready: Mutex<Option<T>>,
    making: AtomicBool,
}

impl<T> Default for Spare<T> {
    fn default() -> Self {
        Self {
            ready: Mutex::new(None),
            making: AtomicBool::new(false),
        }
    }
}

impl<T> Spare<T> {
    /// The ready instance, if there is one; the caller serves one request with it.
    pub fn take(&self) -> Option<T> {
        self.slot().take()
    }

    /// Claims the making of the next instance: true when none is ready and none is being made.
    /// The claimant must call [`Spare::fill`], with or without an instance.
    pub fn claim(&self) -> bool {
        if self.making.swap(true, Ordering::AcqRel) {
            return false;
        }
        if self.slot().is_some() {
            self.making.store(false, Ordering::Release);
            return false;
        }
        true
    }

    /// Keeps what the claimant made (nothing if making it failed) and ends the claim.
    pub fn fill(&self, made: Option<T>) {
        if let Some(made) = made {
            *self.slot() = Some(made);
        }
        self.making.store(false, Ordering::Release);
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<T>> {
        // The slot holds no invariant a panic could break half way.
        self.ready.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_is_made_only_when_none_is_ready_or_being_made() {
        let spare = Spare::default();
        assert!(spare.claim());
        assert!(!spare.claim(), "a second maker while the first works");
        spare.fill(Some(1));
        assert!(!spare.claim(), "a maker while one is ready");
        assert_eq!(spare.take(), Some(1));
        assert_eq!(spare.take(), None, "each instance serves one request");
        assert!(spare.claim());
    }

    #[test]
    fn a_failed_making_releases_the_claim() {
        let spare: Spare<u32> = Spare::default();
        assert!(spare.claim());
        spare.fill(None);
        assert_eq!(spare.take(), None);
        assert!(spare.claim());
    }
}
