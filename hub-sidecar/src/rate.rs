//! A token bucket: a sustained rate with a burst, for the caps on what one peer may send (a
//! gateway's recorded events, a browser's input bytes).

use std::time::Instant;

/// A rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Units refilled per second.
    pub per_second: f64,
    /// Units available at once (the bucket's size).
    pub burst: f64,
}

/// A bucket that starts full.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: Rate,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket for `rate`.
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            tokens: rate.burst,
            at: Instant::now(),
        }
    }

    /// Takes `cost` units if the bucket holds them now; false (and nothing taken) otherwise.
    pub fn take(&mut self, cost: f64) -> bool {
        self.take_at(cost, Instant::now())
    }

    fn take_at(&mut self, cost: f64, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at);
        self.at = now;
        self.tokens =
            (self.tokens + elapsed.as_secs_f64() * self.rate.per_second).min(self.rate.burst);
        if cost <= self.tokens {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket {
            rate: Rate {
                per_second: 10.0,
                burst: 5.0,
            },
            tokens: 5.0,
            at: start,
        };
        for _ in 0..5 {
            assert!(bucket.take_at(1.0, start));
        }
        assert!(!bucket.take_at(1.0, start));
        // 100 ms refills one unit; a long pause refills no more than the burst.
        assert!(bucket.take_at(1.0, start + Duration::from_millis(100)));
        assert!(!bucket.take_at(1.0, start + Duration::from_millis(100)));
        let later = start + Duration::from_secs(60);
        assert!(bucket.take_at(5.0, later));
        assert!(!bucket.take_at(0.5, later));
    }

    #[test]
    fn a_cost_over_the_burst_never_passes() {
        let mut bucket = TokenBucket::new(Rate {
            per_second: 1000.0,
            burst: 10.0,
        });
        assert!(!bucket.take(11.0));
        assert!(bucket.take(10.0));
    }
}
