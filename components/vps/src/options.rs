//! `GET /vps/options`: the regions and sizes the create form offers (from DigitalOcean, cached
//! for an hour).

use chatcode_kit::{Reply, caller, catalog, db, respond};
use spin_sdk::http::Request;

/// 200 `{regions: [{slug, name, sizes}], sizes: [{slug, description, vcpus, memory, disk,
/// price_monthly, regions}]}`; 409 `do_not_connected` without DigitalOcean when not cached.
pub async fn handle(req: &Request) -> Reply {
    let user = caller::require(req)?;
    let conn = db::open()?;
    respond::json(200, &catalog::options(&conn, &user.user_id).await?)
}
