//! P8: isolation. One gateway floods events at full speed (health reports, and a session
//! event in every thousand) while the app answers each events post slowly; another
//! gateway's keystroke round trip is measured during the flood and, in alternating slices,
//! without it.

use std::time::Duration;

use chatcode_core::protocol::{Event, GatewayHealth, SessionError};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::{
    FLEET_PREFIX, KEYSTROKE_WARMUP, gateway::RawGateway, keystroke, stand_in_app::StandInApp,
    target::Target,
};

/// How long the app takes to answer an events post during the flood.
pub const SLOW_APP: Duration = Duration::from_millis(200);

/// Keystroke round trips without and with the flood.
pub struct Isolation {
    /// Without the flood.
    pub quiet: Vec<Duration>,
    /// During it.
    pub flooded: Vec<Duration>,
    /// Events the flooding gateway sent.
    pub flood_events: u64,
}

/// `rounds` alternating slices of `per_round` keystrokes on the hub at `target`.
pub async fn measure(
    target: Target,
    app: &StandInApp,
    per_round: usize,
    rounds: usize,
) -> anyhow::Result<Isolation> {
    let (mut quiet, mut flooded, mut flood_events) = (Vec::new(), Vec::new(), 0);
    for round in 0..rounds {
        eprintln!(
            "hub P8, round {}: keystrokes, quiet then flooded…",
            round + 1
        );
        let (calm, busy) = (format!("ses-p8-{round}"), format!("ses-p8-flood-{round}"));
        quiet.extend(keystroke::through_gateway(target, &calm, KEYSTROKE_WARMUP, per_round).await?);
        app.slow_events(SLOW_APP);
        let (stop, stopped) = watch::channel(false);
        let flood = tokio::spawn(flood(target, stopped));
        let measured = keystroke::through_gateway(target, &busy, KEYSTROKE_WARMUP, per_round).await;
        stop.send_replace(true);
        flood_events += flood.await??;
        app.slow_events(Duration::ZERO);
        flooded.extend(measured?);
    }
    Ok(Isolation {
        quiet,
        flooded,
        flood_events,
    })
}

/// Sends events as fast as the socket takes them until `stop`; how many.
async fn flood(target: Target, mut stop: watch::Receiver<bool>) -> anyhow::Result<u64> {
    let gateway_id = format!("{FLEET_PREFIX}flood");
    let gateway = RawGateway::connect_as(target, &gateway_id).await?;
    let health = Event::GatewayHealth(GatewayHealth {
        gateway_id: gateway_id.clone(),
        timestamp: "2026-01-01T00:00:00Z".into(),
        cpu_percent: Some(50.0),
        ram_used_bytes: Some(1 << 30),
        ram_total_bytes: Some(2 << 30),
        disk_used_bytes: None,
        disk_total_bytes: None,
        uptime_seconds: Some(100),
        active_sessions: None,
    })
    .to_json();
    let error = Event::SessionError(SessionError {
        session_id: "ses-flood".into(),
        error: "flooding".into(),
    })
    .to_json();
    let mut sent = 0u64;
    while !*stop.borrow_and_update() {
        let text = if sent % 1000 == 999 { &error } else { &health };
        gateway.send(Message::text(text.clone())).await?;
        sent += 1;
    }
    Ok(sent)
}
