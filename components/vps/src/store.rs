//! The `vps` and `gateways` rows: every SQL statement of the user-facing routes.
//!
//! Every read of a user's VPS filters by `user_id`, so another user's id is simply absent.

use chatcode_core::{ApiError, vps::VpsStatus};
use chatcode_kit::db;
use spin_sdk::sqlite::{Connection, RowResult, Value};

const SELECT: &str = "SELECT v.id, v.name, v.droplet_id, v.region, v.size, v.image, v.ipv4, \
    v.status, v.created_at, v.updated_at, g.id, g.version, g.hostname, g.system_info, \
    g.last_health, g.last_seen_at, g.connected, g.disconnected_at \
    FROM vps v JOIN gateways g ON g.vps_id = v.id";

/// A VPS with its gateway.
#[derive(Debug, Clone)]
pub struct Vps {
    pub id: String,
    pub name: String,
    pub droplet_id: u64,
    pub region: String,
    pub size: String,
    pub image: String,
    pub ipv4: Option<String>,
    pub status: VpsStatus,
    pub created_at: i64,
    pub updated_at: i64,
    pub gateway: Gateway,
}

/// A VPS's gateway as last heard of.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub id: String,
    pub version: Option<String>,
    pub hostname: Option<String>,
    /// JSON from `gateway.hello`.
    pub system_info: Option<String>,
    /// JSON from the last `gateway.health`.
    pub last_health: Option<String>,
    pub last_seen_at: Option<i64>,
    pub connected: bool,
    pub disconnected_at: Option<i64>,
}

fn read(row: &RowResult) -> Option<Vps> {
    let text = |i: usize| row.get::<&str>(i).map(str::to_owned);
    let status = row.get::<&str>(7).and_then(VpsStatus::parse)?;
    Some(Vps {
        id: text(0)?,
        name: text(1)?,
        droplet_id: u64::try_from(row.get::<i64>(2)?).ok()?,
        region: text(3)?,
        size: text(4)?,
        image: text(5)?,
        ipv4: text(6),
        status,
        created_at: row.get::<i64>(8)?,
        updated_at: row.get::<i64>(9)?,
        gateway: Gateway {
            id: text(10)?,
            version: text(11),
            hostname: text(12),
            system_info: text(13),
            last_health: text(14),
            last_seen_at: row.get::<i64>(15),
            connected: row.get::<i64>(16) == Some(1),
            disconnected_at: row.get::<i64>(17),
        },
    })
}

fn read_all(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Vps>, ApiError> {
    let result = db::run(conn, sql, params)?;
    result
        .rows
        .iter()
        .map(|row| {
            read(row).ok_or_else(|| {
                eprintln!("a vps row does not have the schema's shape");
                ApiError::internal()
            })
        })
        .collect()
}

/// The user's VPSes, newest first.
pub fn list(conn: &Connection, user_id: &str) -> Result<Vec<Vps>, ApiError> {
    read_all(
        conn,
        &format!("{SELECT} WHERE v.user_id = ? ORDER BY v.created_at DESC, v.id"),
        &[db::t(user_id)],
    )
}

/// The user's VPS `vps_id`; `None` if it does not exist or belongs to someone else.
pub fn owned(conn: &Connection, user_id: &str, vps_id: &str) -> Result<Option<Vps>, ApiError> {
    Ok(read_all(
        conn,
        &format!("{SELECT} WHERE v.id = ? AND v.user_id = ?"),
        &[db::t(vps_id), db::t(user_id)],
    )?
    .into_iter()
    .next())
}

/// The rows a new VPS starts with.
pub struct NewRows<'a> {
    pub vps_id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub droplet_id: u64,
    pub region: &'a str,
    pub size: &'a str,
    pub image: &'a str,
    pub gateway_id: &'a str,
    pub token_hash: &'a str,
    pub now: i64,
}

/// Writes the `vps` and `gateways` rows (status `provisioning`) in one transaction.
pub fn insert(conn: &Connection, rows: &NewRows<'_>) -> Result<(), ApiError> {
    let droplet_id = i64::try_from(rows.droplet_id).map_err(|_| ApiError::internal())?;
    db::transaction(conn, |conn| {
        db::run(
            conn,
            "INSERT INTO vps (id, user_id, name, droplet_id, region, size, image, status, \
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'provisioning', ?, ?)",
            &[
                db::t(rows.vps_id),
                db::t(rows.user_id),
                db::t(rows.name),
                Value::Integer(droplet_id),
                db::t(rows.region),
                db::t(rows.size),
                db::t(rows.image),
                Value::Integer(rows.now),
                Value::Integer(rows.now),
            ],
        )?;
        db::run(
            conn,
            "INSERT INTO gateways (id, vps_id, auth_token_hash, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?)",
            &[
                db::t(rows.gateway_id),
                db::t(rows.vps_id),
                db::t(rows.token_hash),
                Value::Integer(rows.now),
                Value::Integer(rows.now),
            ],
        )?;
        Ok(())
    })
}

/// Sets the status (and the address, when known) of a VPS.
pub fn update(
    conn: &Connection,
    vps_id: &str,
    status: VpsStatus,
    ipv4: Option<&str>,
    now: i64,
) -> Result<(), ApiError> {
    db::run(
        conn,
        "UPDATE vps SET status = ?, ipv4 = COALESCE(?, ipv4), updated_at = ? WHERE id = ?",
        &[
            db::t(status.as_str()),
            db::opt(ipv4),
            Value::Integer(now),
            db::t(vps_id),
        ],
    )?;
    Ok(())
}
