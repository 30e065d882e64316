//! The CPU time the embedded runtime's request threads (`request-N`, in this process) have
//! used, from `/proc/self/task/*/stat`: what a relayed request costs the app in computing,
//! apart from the time it waits.

use std::{fs, time::Duration};

/// `/proc`'s clock tick (`USER_HZ`), fixed at 100 by the kernel's ABI.
const TICK: Duration = Duration::from_millis(10);

/// The request threads' CPU time so far (user and system), to a tick.
pub fn request_threads() -> anyhow::Result<Duration> {
    let mut ticks = 0u64;
    for task in fs::read_dir("/proc/self/task")? {
        let dir = task?.path();
        // A thread may end between the listing and the read.
        let (Ok(comm), Ok(stat)) = (
            fs::read_to_string(dir.join("comm")),
            fs::read_to_string(dir.join("stat")),
        ) else {
            continue;
        };
        if comm.trim_end().starts_with("request-") {
            ticks += used_ticks(&stat)
                .ok_or_else(|| anyhow::anyhow!("unexpected {}: {stat}", dir.display()))?;
        }
    }
    Ok(TICK * u32::try_from(ticks)?)
}

/// `utime + stime` of a `stat` line: fields 14 and 15, counted after the `(comm)` field,
/// which may itself hold spaces and parentheses.
fn used_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

#[cfg(test)]
mod tests {
    use super::used_ticks;

    #[test]
    fn user_and_system_ticks_follow_the_command_name() {
        let stat = "4242 (request-0 (x)) S 1 4242 1 0 -1 4194368 100 0 0 0 37 5 0 0 20 0 1 0";
        assert_eq!(used_ticks(stat), Some(42));
        assert_eq!(used_ticks("4242 (request-0) S 1"), None);
    }
}
