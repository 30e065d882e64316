//! Billing rules: credits as an append-only ledger, usage priced from configuration, credit
//! purchases and the budget guard. Pure decisions; the `billing` component does the I/O.
//!
//! The ledger is the source of truth: each entry has a unique idempotency key, a kind, a
//! signed amount and the balance after it, and the user's cached balance changes in the same
//! transaction. Corrections (refunds, disputes) are new entries, never edits.

pub mod budget;
pub mod catalog;
pub mod ledger;
pub mod purchase;
pub mod usage;

/// The idempotency key of a user's signup grant: one per user, ever.
pub fn signup_key(user_id: &str) -> String {
    format!("signup:{user_id}")
}

/// The idempotency key of a usage event: the caller's key, scoped to the caller (user ids
/// hold no `:`, so two users' keys never meet).
pub fn usage_key(user_id: &str, key: &str) -> String {
    format!("usage:{user_id}:{key}")
}

/// The idempotency key of a purchase's grant: one per PaymentIntent, however the success
/// is learnt (the purchase's answer, a webhook, a refund or dispute that proves it).
pub fn purchase_key(payment_intent: &str) -> String {
    format!("purchase:{payment_intent}")
}

/// The idempotency key of a refund's take-back: Stripe reports the amount refunded so far,
/// and each amount asks for its difference once.
pub fn refund_key(charge: &str, refunded_cents: i64) -> String {
    format!("refund:{charge}:{refunded_cents}")
}

/// The idempotency key of a dispute's take-back.
pub fn dispute_key(dispute: &str) -> String {
    format!("dispute:{dispute}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_scoped_so_they_never_collide() {
        assert_ne!(usage_key("usr-a", "k"), usage_key("usr-b", "k"));
        assert_eq!(purchase_key("pi_1"), "purchase:pi_1");
        assert_ne!(refund_key("ch_1", 100), refund_key("ch_1", 200));
        assert_eq!(signup_key("usr-a"), "signup:usr-a");
        assert_eq!(dispute_key("dp_1"), "dispute:dp_1");
    }
}
