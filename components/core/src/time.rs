//! Wall-clock time as unix milliseconds, the one timestamp format of the schema.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the unix epoch (negative before it), from the system clock.
///
/// Works on `wasm32-wasip2` (`wasi:clocks/wall-clock`) and on the host.
pub fn now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

#[cfg(test)]
mod tests {
    use super::now_ms;

    #[test]
    fn is_unix_milliseconds() {
        let a = now_ms();
        // 2024-01-01 and 2100-01-01 in ms: a sanity window, not a precise check.
        assert!(a > 1_704_067_200_000, "{a}");
        assert!(a < 4_102_444_800_000, "{a}");
        assert!(now_ms() >= a);
    }
}
