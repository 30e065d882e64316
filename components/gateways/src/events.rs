//! `POST /internal/gateways/:id/events`: records one gateway's batch of events, in order, in
//! one transaction, through `chatcode_kit::status`. Connection changes and
//! `gateway.hello`/`gateway.health` update the gateway (a hello also activates its VPS);
//! `session.started|ended|error` and health's active sessions update the gateway's sessions,
//! and a session older than the grace that a health report no longer lists has ended. Other
//! events are counted as ignored.

use chatcode_core::{
    ApiError,
    hub_events::{EventBatch, HubEvent, MAX_BATCH_BYTES, MAX_BATCH_EVENTS},
    protocol::{Event, Incoming, parse_event},
    time::now_ms,
};
use chatcode_kit::{Reply, db, internal, respond, status::GatewayRows};
use serde_json::json;
use spin_sdk::http::Request;

/// Applies the batch; 200 `{applied, ignored}`, 404 for an unknown gateway.
pub fn handle(req: &Request, gateway_id: &str) -> Reply {
    internal::require_hub(req)?;
    let batch: EventBatch = respond::parse_body(req.body(), MAX_BATCH_BYTES)?;
    if batch.events.len() > MAX_BATCH_EVENTS {
        return Err(ApiError::unprocessable(format!(
            "a batch holds at most {MAX_BATCH_EVENTS} events"
        )));
    }
    let conn = db::open()?;
    let (applied, ignored) = db::transaction(&conn, |conn| {
        let vps_id = db::text(
            &db::run(
                conn,
                "SELECT vps_id FROM gateways WHERE id = ?",
                &[db::t(gateway_id)],
            )?,
            0,
            0,
        )
        .ok_or_else(|| ApiError::not_found("no such gateway"))?;
        let rows = GatewayRows {
            conn,
            gateway_id,
            vps_id: &vps_id,
            now: now_ms(),
        };
        let mut applied = 0;
        for event in &batch.events {
            if apply(&rows, event)? {
                applied += 1;
            }
        }
        Ok((applied, batch.events.len() - applied))
    })?;
    respond::json(200, &json!({ "applied": applied, "ignored": ignored }))
}

/// Records one entry; `false` when it is one the app does not record.
fn apply(rows: &GatewayRows<'_>, entry: &HubEvent) -> Result<bool, ApiError> {
    let (at, event) = match entry {
        HubEvent::Connected { at } => return rows.connection(*at, true).map(|()| true),
        HubEvent::Disconnected { at } => return rows.connection(*at, false).map(|()| true),
        HubEvent::Gateway { at, event } => (*at, event),
    };
    let event = match parse_event(&event.to_string()) {
        Ok(Incoming::Event(event)) => event,
        Ok(Incoming::Unknown { type_name }) => {
            eprintln!("gateway {}: ignoring event {type_name:?}", rows.gateway_id);
            return Ok(false);
        }
        Err(e) => {
            eprintln!("gateway {}: ignoring invalid event: {e}", rows.gateway_id);
            return Ok(false);
        }
    };
    match &event {
        // A hello from another gateway id is not this gateway's to record.
        Event::GatewayHello(hello) if hello.gateway_id != rows.gateway_id => {
            eprintln!(
                "gateway {}: ignoring hello naming {:?}",
                rows.gateway_id, hello.gateway_id
            );
            return Ok(false);
        }
        Event::GatewayHello(hello) => rows.hello(at, hello)?,
        Event::GatewayHealth(health) => rows.health(at, health)?,
        Event::SessionStarted(started) => rows.session_started(at, &started.session_id)?,
        Event::SessionEnded(ended) => {
            rows.session_ended(at, &ended.session_id, ended.exit_code)?;
        }
        Event::SessionError(failed) => rows.session_error(&failed.session_id, &failed.error)?,
        _ => return Ok(false),
    }
    Ok(true)
}
