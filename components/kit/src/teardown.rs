//! Destroying a VPS: its droplet at DigitalOcean first (one DigitalOcean no longer has counts
//! as destroyed), then the VPS's rows with its gateway, sessions and SSH keys, in one
//! transaction. `DELETE /vps/:id` and the account deletion both go through here, so a failure
//! leaves either a VPS that still exists or one that is gone, never half of one.

use chatcode_core::ApiError;
use spin_sdk::sqlite::{Connection, Value};

use crate::{db, droplets::DoClient};

const SQL_DELETE_ROWS: [&str; 4] = [
    "DELETE FROM sessions WHERE vps_id = ?",
    "DELETE FROM authorized_keys WHERE vps_id = ?",
    "DELETE FROM gateways WHERE vps_id = ?",
    "DELETE FROM vps WHERE id = ?",
];
const SQL_OF_USER: &str = "SELECT id, droplet_id FROM vps WHERE user_id = ? ORDER BY created_at";

/// A VPS to destroy: its id and its droplet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doomed {
    /// `vps.id`.
    pub vps_id: String,
    /// The droplet at DigitalOcean.
    pub droplet_id: u64,
}

/// Every VPS of `user_id`, oldest first.
pub fn of_user(conn: &Connection, user_id: &str) -> Result<Vec<Doomed>, ApiError> {
    let rows = db::run(conn, SQL_OF_USER, &[db::t(user_id)])?;
    Ok((0..rows.rows.len())
        .filter_map(|row| {
            Some(Doomed {
                vps_id: db::text(&rows, row, 0)?,
                droplet_id: u64::try_from(db::integer(&rows, row, 1)?).ok()?,
            })
        })
        .collect())
}

/// Destroys the droplet, then deletes the VPS's rows.
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
    })
}
