//! What the gateway says about itself: `gateway.hello` on connect and `gateway.health`
//! periodically, with figures read from `/proc` where it exists.

use std::time::Instant;

use chatcode_core::protocol::{ActiveSession, Event, GatewayHealth, GatewayHello, SystemInfo};

use crate::clock;
use crate::config::SimConfig;
use crate::state::Inner;

/// Disk size reported when the simulator cannot know it (an 80 GB droplet).
const DISK_TOTAL_BYTES: u64 = 80 * 1000 * 1000 * 1000;
/// Share of the disk reported as used, in percent.
const DISK_USED_PERCENT: u64 = 15;
/// Memory reported when `/proc/meminfo` is unreadable (2 GiB).
const FALLBACK_RAM_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// `gateway.hello` for `config`.
pub(crate) fn hello(config: &SimConfig) -> Event {
    Event::GatewayHello(GatewayHello {
        gateway_id: config.gateway_id.clone(),
        version: config.version.clone(),
        hostname: config.hostname.clone(),
        go_version: Some(config.go_version.clone()),
        bootstrap_token: None,
        system_info: config.system_info.clone(),
    })
}

/// `gateway.health` now, listing the live sessions of `inner`.
pub(crate) fn health(config: &SimConfig, inner: &Inner, started: Instant) -> Event {
    let ram_total = config.system_info.ram_total_bytes;
    let ram_used = meminfo_kib("MemAvailable:")
        .map(|available| ram_total.saturating_sub(available.saturating_mul(1024)))
        .unwrap_or(ram_total / 4);
    let disk_total = config.system_info.disk_total_bytes;
    let active_sessions = inner
        .vps
        .sessions
        .values()
        .filter(|s| s.is_live())
        .map(|s| ActiveSession {
            session_id: s.id().to_string(),
            last_activity_at: clock::rfc3339(s.last_activity()),
        })
        .collect();
    Event::GatewayHealth(GatewayHealth {
        gateway_id: config.gateway_id.clone(),
        timestamp: clock::now_rfc3339(),
        cpu_percent: Some(cpu_percent(config.system_info.cpus)),
        ram_used_bytes: Some(ram_used),
        ram_total_bytes: Some(ram_total),
        disk_used_bytes: Some(disk_total / 100 * DISK_USED_PERCENT),
        disk_total_bytes: Some(disk_total),
        uptime_seconds: Some(uptime_seconds().unwrap_or_else(|| started.elapsed().as_secs())),
        active_sessions: Some(active_sessions),
    })
}

/// This machine as the real gateway would describe it on a droplet: always `linux`/`amd64`.
pub(crate) fn probe_system() -> SystemInfo {
    let cpus = std::thread::available_parallelism()
        .ok()
        .and_then(|n| u32::try_from(n.get()).ok())
        .unwrap_or(1);
    SystemInfo {
        os: "linux".to_string(),
        arch: "amd64".to_string(),
        cpus,
        ram_total_bytes: meminfo_kib("MemTotal:")
            .map_or(FALLBACK_RAM_BYTES, |kib| kib.saturating_mul(1024)),
        disk_total_bytes: DISK_TOTAL_BYTES,
    }
}

/// This machine's hostname, or `gateway-sim`.
pub(crate) fn probe_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "gateway-sim".to_string())
}

/// A `/proc/meminfo` figure in KiB.
fn meminfo_kib(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|line| line.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Seconds since boot, from `/proc/uptime`.
fn uptime_seconds() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/uptime").ok()?;
    let secs: f64 = text.split_whitespace().next()?.parse().ok()?;
    // Truncation is the point; `as` saturates for out-of-range floats.
    secs.is_finite().then_some(secs as u64)
}

/// The one-minute load average as a share of the CPUs, 0 to 100.
fn cpu_percent(cpus: u32) -> f64 {
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<f64>().ok())
        .filter(|load| load.is_finite())
        .unwrap_or(0.05);
    let percent = load / f64::from(cpus.max(1)) * 100.0;
    (percent.clamp(0.0, 100.0) * 10.0).round() / 10.0
}
