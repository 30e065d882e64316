//! `GET /vps` and `GET /vps/:id`: a user's VPSes with their gateway's status, and one VPS
//! with its gateway's last health report.
//!
//! The detail view also settles states only DigitalOcean knows the end of (a power action
//! finishing, the address of a new droplet) by asking it; if it cannot, the stored state is
//! shown as it is.

use chatcode_core::{ApiError, time::now_ms, vps::VpsStatus};
use chatcode_kit::{Reply, caller, db, droplets::DoClient, respond};
use serde_json::{Value, json};
use spin_sdk::{http::Request, sqlite::Connection};

use crate::store::{self, Vps};

/// `GET /vps`.
pub fn list(req: &Request) -> Reply {
    let user = caller::require(req)?;
    let conn = db::open()?;
    let list: Vec<Value> = store::list(&conn, &user.user_id)?
        .iter()
        .map(summary)
        .collect();
    respond::json(200, &json!({ "vps": list }))
}

/// `GET /vps/:id`.
pub async fn detail(req: &Request, vps_id: &str) -> Reply {
    let user = caller::require(req)?;
    let conn = db::open()?;
    let vps = store::owned(&conn, &user.user_id, vps_id)?.ok_or_else(not_found)?;
    let vps = settle(&conn, &user.user_id, vps).await?;
    let mut body = summary(&vps);
    body["gateway"]["system_info"] = parse_stored(vps.gateway.system_info.as_deref());
    body["gateway"]["health"] = parse_stored(vps.gateway.last_health.as_deref());
    respond::json(200, &body)
}

/// The answer for an id the user does not own (or that does not exist).
pub fn not_found() -> ApiError {
    ApiError::not_found("no such VPS")
}

/// A VPS as the list shows it.
pub fn summary(vps: &Vps) -> Value {
    json!({
        "id": vps.id,
        "name": vps.name,
        "status": vps.status.as_str(),
        "region": vps.region,
        "size": vps.size,
        "image": vps.image,
        "ipv4": vps.ipv4,
        "droplet_id": vps.droplet_id,
        "created_at": vps.created_at,
        "updated_at": vps.updated_at,
        "gateway": {
            "id": vps.gateway.id,
            "connected": vps.gateway.connected,
            "last_seen_at": vps.gateway.last_seen_at,
            "disconnected_at": vps.gateway.disconnected_at,
            "version": vps.gateway.version,
            "hostname": vps.gateway.hostname,
        },
    })
}

fn parse_stored(json: Option<&str>) -> Value {
    json.and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

/// Asks DigitalOcean about a VPS whose state is waiting on it, and stores what it learns.
async fn settle(conn: &Connection, user_id: &str, mut vps: Vps) -> Result<Vps, ApiError> {
    let waiting = match vps.status {
        VpsStatus::PoweringOff | VpsStatus::PoweringOn => true,
        VpsStatus::Provisioning | VpsStatus::Active => vps.ipv4.is_none(),
        _ => false,
    };
    if !waiting {
        return Ok(vps);
    }
    let looked_up = match DoClient::for_user(conn, user_id) {
        Ok(mut client) => client.droplet(vps.droplet_id).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let droplet = match looked_up {
        Ok(droplet) => droplet,
        Err(e) => {
            eprintln!("cannot refresh {} from DigitalOcean: {e}", vps.id);
            return Ok(vps);
        }
    };
    let status = match (&droplet, vps.status) {
        (None, _) => VpsStatus::Error,
        (Some(d), VpsStatus::PoweringOff) if d.status == "off" => VpsStatus::Off,
        (Some(d), VpsStatus::PoweringOn) if d.status == "active" => VpsStatus::Active,
        (Some(_), status) => status,
    };
    let ipv4 = droplet
        .as_ref()
        .and_then(|d| d.public_ipv4())
        .map(str::to_owned);
    if status != vps.status || ipv4.is_some() && ipv4 != vps.ipv4 {
        let now = now_ms();
        store::update(conn, &vps.id, status, ipv4.as_deref(), now)?;
        vps.status = status;
        vps.ipv4 = ipv4.or(vps.ipv4);
        vps.updated_at = now;
    }
    Ok(vps)
}
