//! This process's memory and file limits, read from `/proc/self` (Linux only), and the
//! open-files soft limit raised to the hard limit with the `prlimit` tool, so no `unsafe`
//! `setrlimit` and no new dependency are needed.

use std::process::Command;

use anyhow::Context;

/// Resident set size now, in bytes (`VmRSS`).
pub fn current() -> anyhow::Result<u64> {
    status_kib("VmRSS:").map(|kib| kib * 1024)
}

/// Peak resident set size since the last [`reset_peak`], in bytes (`VmHWM`).
pub fn peak() -> anyhow::Result<u64> {
    status_kib("VmHWM:").map(|kib| kib * 1024)
}

/// Resets the peak to the current RSS (`5` into `/proc/self/clear_refs`, Linux ≥ 4.0).
pub fn reset_peak() -> anyhow::Result<()> {
    std::fs::write("/proc/self/clear_refs", "5").context("resetting VmHWM via clear_refs")
}

fn status_kib(field: &str) -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .with_context(|| format!("no {field} in /proc/self/status"))?;
    line.split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("cannot parse {line:?}"))
}

/// The open-files limits `(soft, hard)`; `u64::MAX` for unlimited.
pub fn open_files_limit() -> anyhow::Result<(u64, u64)> {
    let limits =
        std::fs::read_to_string("/proc/self/limits").context("reading /proc/self/limits")?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .context("no open-files line in /proc/self/limits")?;
    let mut fields = line["Max open files".len()..].split_whitespace();
    let mut next = || match fields.next() {
        Some("unlimited") => Ok(u64::MAX),
        Some(n) => n.parse().with_context(|| format!("cannot parse {line:?}")),
        None => anyhow::bail!("cannot parse {line:?}"),
    };
    Ok((next()?, next()?))
}

/// Raises the open-files soft limit to the hard limit if it is lower; returns the soft limit
/// in force afterwards (children inherit it).
pub fn raise_open_files() -> anyhow::Result<u64> {
    let (soft, hard) = open_files_limit()?;
    if soft >= hard {
        return Ok(soft);
    }
    let hard_text = if hard == u64::MAX {
        "unlimited".to_owned()
    } else {
        hard.to_string()
    };
    let raised = Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={hard_text}:{hard_text}"))
        .status();
    if !matches!(raised, Ok(status) if status.success()) {
        eprintln!("cannot raise the open-files limit with prlimit; keeping {soft}");
    }
    Ok(open_files_limit()?.0)
}
