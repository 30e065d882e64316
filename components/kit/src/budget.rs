//! The budget guard where billing is not the component asking: with the guard on and no
//! credits left, a new session is refused with 402 `insufficient_credits`. The billing
//! component keeps the balance and the setting; this only reads them.

use chatcode_core::{
    ApiError,
    billing::{budget::may_start_session, purchase::PaymentError},
};
use spin_sdk::sqlite::Connection;

use crate::db;

/// A user's balance and guard, for users whose billing account exists (no account: no guard).
const SQL_GUARD: &str = "SELECT u.credits_balance, b.budget_guard FROM users u \
    JOIN billing_accounts b ON b.user_id = u.id WHERE u.id = ?";

/// Passes unless `user_id` turned the budget guard on and has no credits left (402).
pub fn allow_new_session(conn: &Connection, user_id: &str) -> Result<(), ApiError> {
    let row = db::run(conn, SQL_GUARD, &[db::t(user_id)])?;
    let (Some(balance), Some(guard)) = (db::integer(&row, 0, 0), db::integer(&row, 0, 1)) else {
        return Ok(());
    };
    if may_start_session(guard == 1, balance) {
        Ok(())
    } else {
        Err(PaymentError::BudgetExhausted.into())
    }
}
