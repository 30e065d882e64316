//! `POST /vps`: validate, mint the gateway's credentials, create the droplet with cloud-init,
//! then write the rows.
//!
//! One request makes at most one droplet and leaves none behind: a create whose answer is
//! lost is looked up by the VPS's own tag before it is retried, and a droplet whose rows
//! cannot be written is deleted again.

use chatcode_core::{
    ApiError, IdKind,
    cloud_init::{GatewayCredentials, user_data},
    ids::new_id,
    time::now_ms,
    token::{generate_token, hash_token},
    vps::{CreateVpsRequest, FLEET_TAG, NewVps, VpsStatus, default_name, vps_tag},
};
use chatcode_kit::{
    Reply, caller, db,
    droplets::{CreateDroplet, DoClient, DoError, Droplet},
    respond,
};
use serde_json::json;
use spin_sdk::http::Request;

use crate::{settings, store};

/// Largest accepted body.
const MAX_BODY: usize = 8 * 1024;

/// Handles `POST /vps`.
pub async fn handle(req: Request) -> Reply {
    let user = caller::require(&req)?;
    let request: CreateVpsRequest = respond::parse_body(req.body(), MAX_BODY)?;
    let vps = request.validate().map_err(ApiError::invalid_fields)?;
    let conn = db::open()?;
    let mut client = DoClient::for_user(&conn, &user.user_id)?;
    let provisioning = settings::Provisioning::load()?;
    let salt = settings::token_salt()?;

    let vps_id = new_id(IdKind::Vps);
    let gateway_id = new_id(IdKind::Gateway);
    let token = generate_token();
    let name = vps.name.clone().unwrap_or_else(|| default_name(&vps_id));
    let user_data = user_data(
        &GatewayCredentials {
            gateway_id: &gateway_id,
            token: &token,
            connect_url: &provisioning.connect_url,
        },
        &provisioning.release,
    );
    let tag = vps_tag(&vps_id);
    let body = CreateDroplet {
        name: &name,
        region: &vps.region,
        size: &vps.size,
        image: &vps.image,
        user_data: &user_data,
        tags: vec![FLEET_TAG.to_owned(), tag.clone()],
        ssh_keys: &vps.ssh_keys,
    };
    let droplet = create_once(&mut client, &body, &tag).await?;

    let now = now_ms();
    let rows = store::NewRows {
        vps_id: &vps_id,
        user_id: &user.user_id,
        name: &name,
        droplet_id: droplet.id,
        region: &vps.region,
        size: &vps.size,
        image: &vps.image,
        gateway_id: &gateway_id,
        token_hash: &hash_token(&token, &salt),
        now,
    };
    if let Err(e) = store::insert(&conn, &rows) {
        // The machine exists but nothing points at it: take it down again.
        if let Err(undo) = client.delete_droplet(droplet.id).await {
            eprintln!(
                "ORPHAN: droplet {} (tag {tag}) could not be deleted after the rows failed: {undo:?}",
                droplet.id
            );
        }
        return Err(e);
    }
    respond::json(
        201,
        &created(&vps_id, &gateway_id, &name, &vps, &droplet, now),
    )
}

/// Creates the droplet, making sure a lost answer never leads to a second one.
///
/// After a timeout, or a 5xx that may have followed the work, the droplet is looked up by
/// its tag. Found: it is the one. Not found after a timeout: the create is sent once more,
/// and any droplet that turns up under the tag besides the one answered is deleted.
async fn create_once(
    client: &mut DoClient<'_>,
    body: &CreateDroplet<'_>,
    tag: &str,
) -> Result<Droplet, ApiError> {
    let first_error = match client.create_droplet(body).await {
        Ok(droplet) => return Ok(droplet),
        Err(e @ (DoError::Timeout | DoError::Unreachable(_) | DoError::Server(..))) => e,
        Err(e) => return Err(e.into()),
    };
    eprintln!("creating droplet {tag}: {first_error:?}; looking it up before retrying");
    if let Some(droplet) = client.droplets_tagged(tag).await?.into_iter().next() {
        return Ok(droplet);
    }
    if first_error != DoError::Timeout {
        return Err(first_error.into());
    }
    let droplet = client.create_droplet(body).await?;
    match client.droplets_tagged(tag).await {
        Ok(tagged) => {
            for extra in tagged.iter().filter(|d| d.id != droplet.id) {
                eprintln!("deleting duplicate droplet {} of {tag}", extra.id);
                client.delete_droplet(extra.id).await?;
            }
        }
        Err(e) => eprintln!("checking {tag} for duplicates: {e:?}"),
    }
    Ok(droplet)
}

fn created(
    vps_id: &str,
    gateway_id: &str,
    name: &str,
    vps: &NewVps,
    droplet: &Droplet,
    now: i64,
) -> serde_json::Value {
    json!({
        "vps_id": vps_id,
        "status": VpsStatus::Provisioning.as_str(),
        "name": name,
        "region": vps.region,
        "size": vps.size,
        "image": vps.image,
        "droplet_id": droplet.id,
        "gateway_id": gateway_id,
        "created_at": now,
    })
}
