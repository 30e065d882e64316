//! The credits ledger's arithmetic. A balance has two buckets, the signup grant and what was
//! bought; every entry moves them by whole credits and never below zero.
//!
//! - Usage spends signup credits first, then purchased ones, and is refused whole if the
//!   balance cannot cover it.
//! - A refund or a dispute takes back purchased credits first, then signup credits, and
//!   never more than is left: what it asked for is recorded next to what it took.
//! - How much a refund or dispute asks for depends only on the purchase and on what earlier
//!   take-backs of it asked for, so the same Stripe events in any order, any number of
//!   times, take back the same total.

use std::fmt;

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// The credits a user starts with, once per user.
    SignupGrant,
    /// Credits bought, granted once per PaymentIntent.
    Purchase,
    /// Credits spent by one usage event.
    Usage,
    /// Purchased credits taken back because the charge was refunded.
    Refund,
    /// Purchased credits taken back because the charge was disputed.
    Dispute,
}

impl EntryKind {
    /// Every kind.
    pub const ALL: [EntryKind; 5] = [
        EntryKind::SignupGrant,
        EntryKind::Purchase,
        EntryKind::Usage,
        EntryKind::Refund,
        EntryKind::Dispute,
    ];

    /// The `kind` column's value.
    pub const fn as_str(self) -> &'static str {
        match self {
            EntryKind::SignupGrant => "signup_grant",
            EntryKind::Purchase => "purchase",
            EntryKind::Usage => "usage",
            EntryKind::Refund => "refund",
            EntryKind::Dispute => "dispute",
        }
    }

    /// The kind a `kind` column holds.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user's credits, by bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Balance {
    /// Left of the signup grant.
    pub signup: i64,
    /// Left of what was bought.
    pub purchased: i64,
}

impl Balance {
    /// Both buckets together: what the user may spend.
    pub const fn total(self) -> i64 {
        self.signup + self.purchased
    }
}

/// How one entry moves a balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Movement {
    /// Change of the signup bucket.
    pub signup: i64,
    /// Change of the purchased bucket.
    pub purchased: i64,
    /// What the rule asked for, as a magnitude (a take-back may find less left).
    pub requested: i64,
}

impl Movement {
    /// The signed change of the total.
    pub const fn amount(self) -> i64 {
        self.signup + self.purchased
    }

    /// The balance after this movement.
    pub const fn apply(self, balance: Balance) -> Balance {
        Balance {
            signup: balance.signup + self.signup,
            purchased: balance.purchased + self.purchased,
        }
    }

    /// What the debit takes, as a positive number (0 for a credit).
    pub const fn debit(self) -> i64 {
        if self.amount() < 0 { -self.amount() } else { 0 }
    }
}

/// Usage the balance cannot cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this costs {needed} credits; {available} are left")]
pub struct Insufficient {
    /// What the event costs.
    pub needed: i64,
    /// What is left.
    pub available: i64,
}

/// The signup grant, into the signup bucket.
pub const fn grant_signup(credits: i64) -> Movement {
    Movement {
        signup: credits,
        purchased: 0,
        requested: credits,
    }
}

/// A purchase, into the purchased bucket.
pub const fn grant_purchase(credits: i64) -> Movement {
    Movement {
        signup: 0,
        purchased: credits,
        requested: credits,
    }
}

/// Usage of `credits`: signup credits first, then purchased ones; refused whole if the
/// balance is short.
pub fn spend(balance: Balance, credits: i64) -> Result<Movement, Insufficient> {
    let credits = credits.max(0);
    if credits > balance.total() {
        return Err(Insufficient {
            needed: credits,
            available: balance.total(),
        });
    }
    let from_signup = credits.min(balance.signup.max(0));
    Ok(Movement {
        signup: -from_signup,
        purchased: -(credits - from_signup),
        requested: credits,
    })
}

/// Takes back `credits` (a refund or a dispute): purchased credits first, then signup ones,
/// never more than the balance holds.
pub fn take_back(balance: Balance, credits: i64) -> Movement {
    let credits = credits.max(0);
    let from_purchased = credits.min(balance.purchased.max(0));
    let from_signup = (credits - from_purchased).min(balance.signup.max(0));
    Movement {
        signup: -from_signup,
        purchased: -from_purchased,
        requested: credits,
    }
}

/// A paid purchase: the credits it granted for its amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paid {
    /// Credits granted.
    pub credits: i64,
    /// What was charged, in minor units.
    pub amount_cents: i64,
}

impl Paid {
    /// The credits `cents` of the charge stand for: all of them for the whole amount (or
    /// more), in proportion (rounded down) for part of it.
    pub fn credits_for(self, cents: i64) -> i64 {
        if self.amount_cents <= 0 || cents <= 0 {
            return 0;
        }
        if cents >= self.amount_cents {
            return self.credits;
        }
        let share = i128::from(self.credits) * i128::from(cents) / i128::from(self.amount_cents);
        i64::try_from(share).unwrap_or(self.credits)
    }

    /// What a `charge.refunded` asks to take back: Stripe reports the charge's refunded
    /// amount so far, so the credits for it, less what refunds of this charge already asked
    /// for, and never past what take-backs left of the purchase. An older event (a smaller
    /// refunded amount) asks for nothing.
    pub fn refund_request(self, refunded_cents: i64, refunds_asked: i64, all_asked: i64) -> i64 {
        let want = self.credits_for(refunded_cents) - refunds_asked;
        want.min(self.credits - all_asked).max(0)
    }

    /// What a `charge.dispute.created` asks to take back: the credits for the disputed
    /// amount, never past what take-backs left of the purchase.
    pub fn dispute_request(self, disputed_cents: i64, all_asked: i64) -> i64 {
        self.credits_for(disputed_cents)
            .min(self.credits - all_asked)
            .max(0)
    }
}

/// What an entry does to the low-balance warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warning {
    /// The balance went below the threshold: warn (once, until it is back above).
    Crossed,
    /// The balance is back at or above the threshold: the next crossing warns again.
    Cleared,
    /// Nothing changes.
    Unchanged,
}

/// The warning after an entry leaves `balance`, for a user whose threshold is `threshold`
/// (none: never warn) and who was `warned` already.
pub fn low_balance(threshold: Option<i64>, warned: bool, balance: i64) -> Warning {
    let below = threshold.is_some_and(|t| balance < t);
    match (below, warned) {
        (true, false) => Warning::Crossed,
        (false, true) => Warning::Cleared,
        _ => Warning::Unchanged,
    }
}

/// Since when the balance has been zero after an entry leaves `balance` at `now`: kept from
/// before if it already was, cleared once there are credits again.
pub fn zero_since(before: Option<i64>, balance: i64, now: i64) -> Option<i64> {
    if balance > 0 {
        None
    } else {
        Some(before.unwrap_or(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: Balance = Balance {
        signup: 100,
        purchased: 50,
    };

    #[test]
    fn kinds_round_trip() {
        for kind in EntryKind::ALL {
            assert_eq!(EntryKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EntryKind::parse("edit"), None);
    }

    #[test]
    fn usage_spends_signup_first_and_never_overdraws() {
        let m = spend(START, 120).unwrap();
        assert_eq!((m.signup, m.purchased, m.amount()), (-100, -20, -120));
        assert_eq!(
            m.apply(START),
            Balance {
                signup: 0,
                purchased: 30
            }
        );
        assert_eq!(m.debit(), 120);
        assert_eq!(spend(START, 150).unwrap().apply(START).total(), 0);
        assert_eq!(
            spend(START, 151),
            Err(Insufficient {
                needed: 151,
                available: 150
            })
        );
        assert_eq!(spend(START, 0).unwrap().amount(), 0);
    }

    #[test]
    fn take_backs_take_purchased_first_and_stop_at_zero() {
        let m = take_back(START, 70);
        assert_eq!((m.signup, m.purchased, m.requested), (-20, -50, 70));
        let all = take_back(START, 1000);
        assert_eq!(all.apply(START), Balance::default());
        assert_eq!((all.amount(), all.requested), (-150, 1000));
        assert_eq!(grant_purchase(5).apply(START).purchased, 55);
        assert_eq!(grant_signup(5).amount(), 5);
    }

    #[test]
    fn refunds_ask_for_the_rest_in_any_order() {
        let paid = Paid {
            credits: 1000,
            amount_cents: 500,
        };
        assert_eq!(paid.credits_for(500), 1000);
        assert_eq!(paid.credits_for(9999), 1000);
        assert_eq!(paid.credits_for(250), 500);
        assert_eq!(paid.credits_for(1), 2);
        assert_eq!(paid.credits_for(0), 0);
        // Two partial refunds, in order: 100 then 300 cents refunded so far.
        let first = paid.refund_request(100, 0, 0);
        let second = paid.refund_request(300, first, first);
        assert_eq!((first, second), (200, 400));
        // The same two in the other order: the older one asks for nothing.
        let newer = paid.refund_request(300, 0, 0);
        let older = paid.refund_request(100, newer, newer);
        assert_eq!((newer, older), (600, 0));
        // A repeat asks for nothing.
        assert_eq!(paid.refund_request(300, 600, 600), 0);
    }

    #[test]
    fn refund_and_dispute_never_take_back_more_than_was_bought() {
        let paid = Paid {
            credits: 1000,
            amount_cents: 500,
        };
        let dispute = paid.dispute_request(500, 0);
        assert_eq!(dispute, 1000);
        assert_eq!(paid.refund_request(500, 0, dispute), 0);
        let refund = paid.refund_request(500, 0, 0);
        assert_eq!(paid.dispute_request(500, refund), 0);
        let half = paid.refund_request(250, 0, 0);
        assert_eq!(paid.dispute_request(500, half), 500);
    }

    #[test]
    fn the_warning_comes_once_per_crossing() {
        assert_eq!(low_balance(Some(100), false, 99), Warning::Crossed);
        assert_eq!(low_balance(Some(100), true, 50), Warning::Unchanged);
        assert_eq!(low_balance(Some(100), true, 100), Warning::Cleared);
        assert_eq!(low_balance(Some(100), false, 100), Warning::Unchanged);
        assert_eq!(low_balance(None, false, 0), Warning::Unchanged);
        assert_eq!(low_balance(None, true, 0), Warning::Cleared);
        assert_eq!(low_balance(Some(0), false, 0), Warning::Unchanged);
    }

    #[test]
    fn zero_since_starts_once_and_ends_with_credits() {
        assert_eq!(zero_since(None, 0, 10), Some(10));
        assert_eq!(zero_since(Some(5), 0, 10), Some(5));
        assert_eq!(zero_since(Some(5), 1, 10), None);
        assert_eq!(zero_since(None, 3, 10), None);
    }
}
