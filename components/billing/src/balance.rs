//! The balance, what billing offers (plans, credit packages, model prices), and the budget
//! guard setting.

use chatcode_core::{ApiError, billing::budget::BudgetUpdate, time::now_ms};
use chatcode_kit::{Reply, caller, db, respond};
use serde_json::json;
use spin_sdk::http::Request;

use crate::{config, ledger, store};

/// Largest `PATCH` body.
const MAX_BODY: usize = 1024;

/// 200 `{signup_credits, purchased_credits, total_credits, low_balance_threshold,
/// low_balance_warned, purchases_frozen}`. Opens the ledger (the signup grant) on first use.
pub fn show(req: &Request) -> Reply {
    let caller = caller::require(req)?;
    let conn = db::open()?;
    ledger::ensure_open(&conn, &caller.user_id, now_ms())?;
    let account = ledger::account(&conn, &caller.user_id)?;
    let frozen = store::frozen_at(&conn, &caller.user_id)?;
    respond::json(
        200,
        &json!({
            "signup_credits": account.balance.signup,
            "purchased_credits": account.balance.purchased,
            "total_credits": account.balance.total(),
            "low_balance_threshold": account.threshold,
            "low_balance_warned": account.warned,
            "purchases_frozen": frozen.is_some(),
        }),
    )
}

/// 200 `{plans: […]}` from `billing_plans`.
pub fn plans(_req: &Request) -> Reply {
    respond::json(200, &json!({ "plans": config::plans()? }))
}

/// 200 `{packages: […], prices: {model: {input_per_1k, output_per_1k}}}` from
/// `credit_packages` (what one can buy) and `usage_prices` (what usage costs).
pub fn credits(_req: &Request) -> Reply {
    let packages = config::packages()?;
    // Parsed to refuse a bad table here too; shown as configured.
    config::prices()?;
    let prices: serde_json::Value = chatcode_kit::config::optional("usage_prices")
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    respond::json(200, &json!({ "packages": packages, "prices": prices }))
}

/// 200 `{budget_guard, power_off_grace_minutes}`.
pub fn settings(req: &Request) -> Reply {
    let caller = caller::require(req)?;
    let conn = db::open()?;
    ledger::ensure_open(&conn, &caller.user_id, now_ms())?;
    respond::json(200, &store::budget(&conn, &caller.user_id)?)
}

/// Changes what the body names; 200 with the settings, 422 naming each bad field.
pub fn update_settings(req: &Request) -> Reply {
    let caller = caller::require(req)?;
    let update: BudgetUpdate = respond::parse_body(req.body(), MAX_BODY)?;
    let conn = db::open()?;
    let now = now_ms();
    ledger::ensure_open(&conn, &caller.user_id, now)?;
    let settings = db::transaction(&conn, |conn| {
        let current = store::budget(conn, &caller.user_id)?;
        let next = update.apply(current).map_err(ApiError::invalid_fields)?;
        store::set_budget(conn, &caller.user_id, next, now)?;
        Ok(next)
    })?;
    respond::json(200, &settings)
}
