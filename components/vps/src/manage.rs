//! `DELETE /vps/:id` and `POST /vps/:id/power-off|power-on`: changes that DigitalOcean
//! carries out first and the rows then record. A deleted VPS's terminals and gateway socket
//! are closed by the hub.

use chatcode_core::{ApiError, ErrorKind, time::now_ms, vps::PowerAction};
use chatcode_kit::{
    Reply, caller, db,
    droplets::DoClient,
    respond,
    teardown::{self, Doomed},
};
use serde_json::json;
use spin_sdk::http::Request;

use crate::{store, view};

/// Destroys the droplet (one DigitalOcean no longer has counts as destroyed), then deletes
/// the VPS with its gateway and sessions. 204.
pub async fn delete(req: &Request, vps_id: &str) -> Reply {
    let user = caller::require(req)?;
    let conn = db::open()?;
    let vps = store::owned(&conn, &user.user_id, vps_id)?.ok_or_else(view::not_found)?;
    let mut client = DoClient::for_user(&conn, &user.user_id)?;
    let doomed = Doomed {
        vps_id: vps.id,
        droplet_id: vps.droplet_id,
        gateway_id: Some(vps.gateway.id),
    };
    teardown::destroy(&conn, &mut client, &doomed).await?;
    Ok(respond::no_content(None))
}

/// Asks DigitalOcean to power the droplet off or on; 409 if the VPS's state forbids it.
/// The status becomes `powering_off`/`powering_on`, or `off`/`active` at once when
/// DigitalOcean reports the action already completed.
pub async fn power(req: &Request, vps_id: &str, action: PowerAction) -> Reply {
    let user = caller::require(req)?;
    let conn = db::open()?;
    let vps = store::owned(&conn, &user.user_id, vps_id)?.ok_or_else(view::not_found)?;
    action.check(vps.status).map_err(ApiError::conflict)?;
    let outcome = DoClient::for_user(&conn, &user.user_id)?
        .droplet_action(vps.droplet_id, action.do_type())
        .await?;
    let status = match outcome.status.as_str() {
        "completed" => action.done(),
        "errored" => {
            return Err(ApiError::new(
                ErrorKind::BadGateway,
                "DigitalOcean: the power action failed",
            ));
        }
        _ => action.pending(),
    };
    store::update(&conn, &vps.id, status, None, now_ms())?;
    respond::json(
        202,
        &json!({
            "vps_id": vps.id,
            "status": status.as_str(),
            "action": { "id": outcome.id, "status": outcome.status },
        }),
    )
}
