//! Usage: `POST /api/billing/usage` records one event and charges it to the ledger,
//! `GET /api/billing/usage` lists them (paged), `GET /api/billing/usage/:id` shows one.

use chatcode_core::{
    ApiError, IdKind,
    billing::{
        ledger::{EntryKind, spend},
        purchase::PaymentError,
        usage::{UsageRequest, parse_page},
        usage_key,
    },
    ids::new_id,
    time::now_ms,
};
use chatcode_kit::{Reply, caller, db, respond};
use serde_json::json;
use spin_sdk::http::Request;

use crate::{
    config,
    ledger::{self, Refs},
    store::{self, Usage},
};

/// Largest request body.
const MAX_BODY: usize = 4 * 1024;

/// 201 `{id, credits_used, balance, low_balance_warning}`; the same key again answers the
/// first result and charges nothing; 402 `insufficient_credits` records nothing.
pub fn record(req: &Request) -> Reply {
    let caller = caller::require(req)?;
    let request: UsageRequest = respond::parse_body(req.body(), MAX_BODY)?;
    let request = request.validate().map_err(ApiError::invalid_fields)?;
    let credits = config::prices()?
        .credits(&request.model, request.input_tokens, request.output_tokens)
        .ok_or_else(ApiError::internal)?;
    let user_id = caller.user_id.as_str();
    let conn = db::open()?;
    let now = now_ms();
    ledger::ensure_open(&conn, user_id, now)?;
    if let Some(session) = &request.session_id
        && store::session_owner(&conn, session)?.is_some_and(|owner| owner != user_id)
    {
        return Err(ApiError::not_found("no such session"));
    }
    let key = usage_key(user_id, &request.idempotency_key);
    let (usage, entry) = db::transaction(&conn, |conn| {
        if let Some(first) = store::usage_by_key(conn, user_id, &request.idempotency_key)? {
            if !same_event(&first, &request) {
                return Err(ApiError::conflict(
                    "this idempotency key was used for a different usage event",
                )
                .with_code("idempotency_conflict"));
            }
            let entry = ledger::find(conn, &key)?.ok_or_else(ApiError::internal)?;
            return Ok((first, entry));
        }
        let usage = Usage {
            id: new_id(IdKind::UsageEvent),
            idempotency_key: Some(request.idempotency_key.clone()),
            model: Some(request.model.clone()),
            input_tokens: request.input_tokens,
            output_tokens: request.output_tokens,
            credits_used: credits,
            session_id: request.session_id.clone(),
            created_at: now,
        };
        store::insert_usage(conn, user_id, &usage)?;
        let refs = Refs {
            usage_event: Some(&usage.id),
            ..Refs::default()
        };
        let entry = ledger::post(
            conn,
            user_id,
            &key,
            EntryKind::Usage,
            refs,
            now,
            |balance| {
                spend(balance, credits)
                    .map_err(|short| PaymentError::InsufficientCredits(short).into())
            },
        )?;
        Ok((usage, entry))
    })?;
    respond::json(
        201,
        &json!({
            "id": usage.id,
            "credits_used": usage.credits_used,
            "balance": entry.balance_after,
            "low_balance_warning": entry.low_balance_crossed,
        }),
    )
}

/// Whether a stored event is the one `request` describes.
fn same_event(stored: &Usage, request: &UsageRequest) -> bool {
    stored.model.as_deref() == Some(request.model.as_str())
        && stored.input_tokens == request.input_tokens
        && stored.output_tokens == request.output_tokens
        && stored.session_id == request.session_id
}

/// 200 `{usage: […], next_before}`, newest first; `?limit=` (1–200, default 50) and
/// `?before=<id of the last event seen>`.
pub fn list(req: &Request) -> Reply {
    let caller = caller::require(req)?;
    let page = parse_page(req.query()).map_err(ApiError::bad_request)?;
    let conn = db::open()?;
    let mut usage = store::usage_page(
        &conn,
        &caller.user_id,
        page.limit + 1,
        page.before.as_deref(),
    )?;
    let more = usage.len() > usize::try_from(page.limit).unwrap_or(usize::MAX);
    usage.truncate(usize::try_from(page.limit).unwrap_or(0));
    let next = more.then(|| usage.last().map(|u| u.id.clone())).flatten();
    respond::json(200, &json!({ "usage": usage, "next_before": next }))
}

/// 200 with one event; another user's is 404.
pub fn show(req: &Request, id: &str) -> Reply {
    let caller = caller::require(req)?;
    let conn = db::open()?;
    let usage = store::usage(&conn, &caller.user_id, id)?
        .ok_or_else(|| ApiError::not_found("no such usage event"))?;
    respond::json(200, &usage)
}

/// 200 `{entries: […], next_before}`: the ledger, newest first, paged like usage.
pub fn ledger_list(req: &Request) -> Reply {
    let caller = caller::require(req)?;
    let page = parse_page(req.query()).map_err(ApiError::bad_request)?;
    let conn = db::open()?;
    ledger::ensure_open(&conn, &caller.user_id, now_ms())?;
    let mut entries = ledger::list(
        &conn,
        &caller.user_id,
        page.limit + 1,
        page.before.as_deref(),
    )?;
    let more = entries.len() > usize::try_from(page.limit).unwrap_or(usize::MAX);
    entries.truncate(usize::try_from(page.limit).unwrap_or(0));
    let next = more.then(|| entries.last().map(|e| e.id.clone())).flatten();
    respond::json(200, &json!({ "entries": entries, "next_before": next }))
}
