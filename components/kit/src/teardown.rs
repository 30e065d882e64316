//! Destroying a VPS: its droplet at DigitalOcean first (one DigitalOcean no longer has counts
//! as destroyed), then the VPS's rows with its gateway, sessions and SSH keys, in one
//! transaction. `DELETE /vps/:id` and the account deletion both go through here, so a failure
//! leaves either a VPS that still exists or one that is gone, never half of one. The hub is
//! told last, so it closes the VPS's terminals and its gateway's socket.

use chatcode_core::{ApiError, revocation::Revocation};
use spin_sdk::sqlite::{Connection, Value};

use crate::{db, droplets::DoClient, hub};

const SQL_DELETE_ROWS: [&str; 4] = [
    "DELETE FROM sessions WHERE vps_id = ?",
    "DELETE FROM authorized_keys WHERE vps_id = ?",
    "DELETE FROM gateways WHERE vps_id = ?",
    "DELETE FROM vps WHERE id = ?",
];
const SQL_OF_USER: &str = "SELECT v.id, v.droplet_id, g.id FROM vps v \
    LEFT JOIN gateways g ON g.vps_id = v.id WHERE v.user_id = ? ORDER BY v.created_at";

/// A VPS to destroy: its id, its droplet and its gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doomed {
    /// `vps.id`.
    pub vps_id: String,
    /// The droplet at DigitalOcean.
    pub droplet_id: u64,
    /// `gateways.id`, when the VPS has its gateway row.
    pub gateway_id: Option<String>,
}

/// Every VPS of `user_id`, oldest first.
pub fn of_user(conn: &Connection, user_id: &str) -> Result<Vec<Doomed>, ApiError> {
    let rows = db::run(conn, SQL_OF_USER, &[db::t(user_id)])?;
    Ok((0..rows.rows.len())
        .filter_map(|row| {
            Some(Doomed {
                vps_id: db::text(&rows, row, 0)?,
                droplet_id: u64::try_from(db::integer(&rows, row, 1)?).ok()?,
                gateway_id: db::text(&rows, row, 2),
            })
        })
        .collect())
}

/// Destroys the droplet, deletes the VPS's rows, then has the hub close what was open.
pub async fn destroy(
    conn: &Connection,
    client: &mut DoClient<'_>,
    doomed: &Doomed,
) -> Result<(), ApiError> {
    client.delete_droplet(doomed.droplet_id).await?;
    db::transaction(conn, |conn| {
        for sql in SQL_DELETE_ROWS {
            db::run(conn, sql, &[Value::Text(doomed.vps_id.clone())])?;
        }
        Ok(())
    })?;
    if let Some(gateway_id) = &doomed.gateway_id {
        hub::revoke(&Revocation::Vps {
            vps_id: doomed.vps_id.clone(),
            gateway_id: gateway_id.clone(),
        })
        .await;
    }
    Ok(())
}
