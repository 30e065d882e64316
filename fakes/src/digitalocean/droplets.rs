//! API v2 handlers: droplets, droplet actions, actions and the account.

use std::collections::HashMap;

use axum::{
    Extension,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    catalog, create,
    errors::{api_error, json_response, not_found, unprocessable},
    guard::Caller,
    model::{Droplet, DropletStatus},
    paging,
    state::DoState,
};

/// Action types the API accepts on a droplet.
const ACTION_TYPES: &[&str] = &[
    "enable_backups",
    "disable_backups",
    "reboot",
    "power_cycle",
    "shutdown",
    "power_off",
    "power_on",
    "restore",
    "password_reset",
    "resize",
    "rebuild",
    "rename",
    "change_kernel",
    "enable_ipv6",
    "snapshot",
];

fn parse_json(body: &Bytes, request_id: &str) -> Result<Value, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(api_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &format!("Invalid JSON: {e}"),
            request_id,
        ))
    })
}

/// `POST /v2/droplets` → 202 with the droplet(s) and their `create` actions.
pub(crate) async fn create(
    State(state): State<DoState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let rid = &caller.request_id;
    let body = match parse_json(&body, rid) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let config = state.config();
    let request = match create::parse(&body, &config.default_region) {
        Ok(r) => r,
        Err(message) => return unprocessable(&message, rid),
    };
    let now_ms = state.0.clock.now_ms();
    let mut inner = state.settled();
    let owned = inner
        .droplets
        .values()
        .filter(|d| d.account == caller.account)
        .count();
    if owned + request.names.len() > config.droplet_limit {
        return unprocessable(
            "creating this/these droplet(s) will exceed your droplet limit",
            rid,
        );
    }
    let mut droplets = Vec::new();
    let mut links = Vec::new();
    for name in &request.names {
        let id = inner.next_droplet_id;
        inner.next_droplet_id += 1;
        let action = inner.new_action("create", id, &request.region, now_ms / 1000);
        let droplet = Droplet {
            id,
            name: name.clone(),
            status: DropletStatus::New,
            region: request.region.clone(),
            size: request.size.clone(),
            image: request.image.clone(),
            tags: request.tags.clone(),
            user_data: request.user_data.clone(),
            ssh_keys: request.ssh_keys.clone(),
            volumes: request.volumes.clone(),
            backups: request.backups,
            ipv6: request.ipv6,
            monitoring: request.monitoring,
            with_droplet_agent: request.with_droplet_agent,
            vpc_uuid: request
                .vpc_uuid
                .clone()
                .unwrap_or_else(|| default_vpc(&request.region)),
            public_ipv4: None,
            created_at_ms: now_ms,
            account: caller.account,
            create_action: action.id,
        };
        droplets.push(droplet.to_json());
        links.push(json!({ "id": action.id, "rel": "create", "href": format!("{}/v2/actions/{}", state.0.base_url, action.id) }));
        inner.droplets.insert(id, droplet);
    }
    drop(inner);
    let body = if request.multiple {
        json!({ "droplets": droplets, "links": { "actions": links } })
    } else {
        json!({ "droplet": droplets.pop(), "links": { "actions": links } })
    };
    json_response(StatusCode::ACCEPTED, &body)
}

/// A region's default VPC, stable per region.
fn default_vpc(region: &str) -> String {
    let n: u32 = region
        .bytes()
        .fold(0, |h, b| h.wrapping_mul(33).wrapping_add(u32::from(b)));
    format!("{n:08x}-dc84-11e8-981e-3cfdfeaae000")
}

/// `GET /v2/droplets[?tag_name=&page=&per_page=]`.
pub(crate) async fn list(
    State(state): State<DoState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let tag = q.get("tag_name").filter(|t| !t.is_empty());
    let droplets: Vec<Value> = state
        .settled()
        .droplets
        .values()
        .filter(|d| d.account == caller.account)
        .filter(|d| tag.is_none_or(|t| d.tags.contains(t)))
        .map(Droplet::to_json)
        .collect();
    let filters: Vec<(&str, &str)> = tag.iter().map(|t| ("tag_name", t.as_str())).collect();
    paging::answer(
        &state.0.base_url,
        "/v2/droplets",
        &q,
        &filters,
        "droplets",
        droplets,
    )
}

fn droplet_id(raw: &str) -> Option<u64> {
    raw.parse().ok()
}

/// `GET /v2/droplets/{id}`.
pub(crate) async fn get(
    State(state): State<DoState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let inner = state.settled();
    match droplet_id(&id)
        .and_then(|id| inner.droplets.get(&id))
        .filter(|d| d.account == caller.account)
    {
        Some(d) => json_response(StatusCode::OK, &json!({ "droplet": d.to_json() })),
        None => not_found(&caller.request_id),
    }
}

/// `DELETE /v2/droplets/{id}` → 204, no body.
pub(crate) async fn delete(
    State(state): State<DoState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let mut inner = state.lock();
    let owned = droplet_id(&id).filter(|id| {
        inner
            .droplets
            .get(id)
            .is_some_and(|d| d.account == caller.account)
    });
    match owned {
        Some(id) => {
            inner.droplets.remove(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        None => not_found(&caller.request_id),
    }
}

/// `POST /v2/droplets/{id}/actions` → 201 with the action, `in-progress`.
pub(crate) async fn action(
    State(state): State<DoState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let rid = &caller.request_id;
    let body = match parse_json(&body, rid) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let now = state.now_secs();
    let mut inner = state.settled();
    let Some(droplet) = droplet_id(&id)
        .and_then(|id| inner.droplets.get(&id))
        .filter(|d| d.account == caller.account)
    else {
        return not_found(rid);
    };
    let (droplet_id, region) = (droplet.id, droplet.region.clone());
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !ACTION_TYPES.contains(&kind.as_str()) {
        return unprocessable(
            &format!("{kind:?} is not a valid droplet action type."),
            rid,
        );
    }
    let status = match kind.as_str() {
        "power_off" | "shutdown" => Some(DropletStatus::Off),
        "power_on" | "reboot" | "power_cycle" => Some(DropletStatus::Active),
        "rename" | "resize" | "rebuild" => {
            if let Err(message) = reshape(&mut inner.droplets, droplet_id, &kind, &body) {
                return unprocessable(&message, rid);
            }
            None
        }
        _ => None,
    };
    let action = inner.new_action(&kind, droplet_id, &region, now);
    if let Some(status) = status {
        inner.set_status(droplet_id, status, state.config(), now);
    }
    if let Some(stored) = inner.actions.get_mut(&action.id) {
        stored.status = "completed".to_owned();
        stored.completed_at = Some(now);
    }
    drop(inner);
    json_response(StatusCode::CREATED, &json!({ "action": action.to_json() }))
}

/// Applies `rename`, `resize` or `rebuild` to the droplet.
fn reshape(
    droplets: &mut std::collections::BTreeMap<u64, Droplet>,
    id: u64,
    kind: &str,
    body: &Value,
) -> Result<(), String> {
    let Some(d) = droplets.get_mut(&id) else {
        return Err("The droplet no longer exists.".to_owned());
    };
    match kind {
        "rename" => match body.get("name").and_then(Value::as_str) {
            Some(n) if !n.is_empty() => d.name = n.to_owned(),
            _ => return Err("Name is required to rename a droplet.".to_owned()),
        },
        "resize" => match body
            .get("size")
            .and_then(Value::as_str)
            .and_then(catalog::size_by_slug)
        {
            Some(s) => d.size = s.slug.to_owned(),
            None => return Err("You specified an invalid size for Droplet resize.".to_owned()),
        },
        _ => match body.get("image").and_then(catalog::image) {
            Some(i) => d.image = i.slug.to_owned(),
            None => return Err("You specified an invalid image for Droplet rebuild.".to_owned()),
        },
    }
    Ok(())
}

/// `GET /v2/actions/{id}`.
pub(crate) async fn get_action(
    State(state): State<DoState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let inner = state.settled();
    match id.parse::<u64>().ok().and_then(|id| inner.actions.get(&id)) {
        Some(a) => json_response(StatusCode::OK, &json!({ "action": a.to_json() })),
        None => not_found(&caller.request_id),
    }
}

/// `GET /v2/account`.
pub(crate) async fn account(
    State(state): State<DoState>,
    Extension(caller): Extension<Caller>,
) -> Response {
    let config = state.config();
    let a = config
        .accounts
        .get(caller.account)
        .cloned()
        .unwrap_or_default();
    json_response(
        StatusCode::OK,
        &json!({ "account": {
            "droplet_limit": config.droplet_limit,
            "floating_ip_limit": 3,
            "volume_limit": 100,
            "email": a.email,
            "name": a.name,
            "uuid": a.uuid,
            "email_verified": true,
            "status": "active",
            "status_message": "",
            "team": { "uuid": a.team_uuid, "name": "My Team" },
        }}),
    )
}
