//! RFC 3339 UTC timestamps, as the gateway writes them (`2026-05-01T12:00:00Z`).

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time as RFC 3339 UTC.
pub(crate) fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// `time` as RFC 3339 UTC, to the second; times before 1970 read as the epoch.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2));
    chatcode_core::time::format_rfc3339(secs)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chatcode_core::time::parse_rfc3339_ms;

    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_827_696);
        assert_eq!(rfc3339(leap), "2000-02-29T12:34:56Z");
    }

    #[test]
    fn round_trips_through_the_core_parser() {
        for secs in [
            0_u64,
            59,
            86_399,
            1_700_000_000,
            4_102_444_800,
            253_402_300_799,
        ] {
            let text = rfc3339(UNIX_EPOCH + Duration::from_secs(secs));
            assert_eq!(
                parse_rfc3339_ms(&text),
                Some(i64::try_from(secs * 1000).unwrap_or_default()),
                "{text}"
            );
        }
    }
}
