-- 0003_billing: credits as an append-only ledger, purchases, Stripe events, the budget guard.
--
-- * credit_ledger is the source of truth: one row per change of a user's credits, each with a
--   unique idempotency key, never updated or deleted (triggers refuse both). users keeps the
--   derived balance (signup_credits + purchased_credits = credits_balance), changed in the
--   same transaction as each row; a trigger refuses any negative value there too.
-- * No personal data in these tables: account deletion anonymises the user and keeps them.
-- * Amounts of money are integers in minor units (cents); credits are integers.

-- Per-user billing state; the row is made with the signup grant, the first time a user's
-- balance is read or used.
CREATE TABLE billing_accounts (
    user_id                 TEXT PRIMARY KEY REFERENCES users(id) ON DELETE RESTRICT,
    budget_guard            INTEGER NOT NULL DEFAULT 0 CHECK (budget_guard IN (0, 1)),
    power_off_grace_minutes INTEGER CHECK (power_off_grace_minutes >= 0),
    zero_balance_since      INTEGER,                             -- the balance is 0 since then
    budget_powered_off_at   INTEGER,                             -- the sweep powered VPSes off
    purchases_frozen_at     INTEGER,                             -- a dispute froze purchases
    frozen_by_dispute       TEXT,                                -- dp_…
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
) STRICT;

-- Credit purchases: one per (user, the caller's idempotency key), one PaymentIntent each.
CREATE TABLE purchases (
    id                TEXT PRIMARY KEY,                          -- pur-…
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
    idempotency_key   TEXT NOT NULL,
    package_id        TEXT NOT NULL,
    credits           INTEGER NOT NULL CHECK (credits > 0),
    amount_cents      INTEGER NOT NULL CHECK (amount_cents > 0),
    currency          TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN (
                          'pending', 'requires_action', 'failed', 'succeeded')),
    payment_intent_id TEXT UNIQUE,                               -- pi_…
    failure_code      TEXT,
    decline_code      TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (user_id, idempotency_key)
) STRICT;

CREATE INDEX idx_purchases_user ON purchases(user_id, created_at);

-- Usage events are keyed by the caller's idempotency key, per user.
ALTER TABLE usage_events ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX idx_usage_idempotency ON usage_events(user_id, idempotency_key);
CREATE INDEX idx_usage_user_created ON usage_events(user_id, created_at);

-- The ledger. amount = signup_delta + purchased_delta; requested is what the rule asked for
-- (a refund or dispute finds at most the balance left); the *_after columns are the balance
-- once this row applied.
CREATE TABLE credit_ledger (
    id                  TEXT PRIMARY KEY,                        -- led-…
    user_id             TEXT NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
    idempotency_key     TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL CHECK (kind IN (
                            'signup_grant', 'purchase', 'usage', 'refund', 'dispute')),
    amount              INTEGER NOT NULL,
    signup_delta        INTEGER NOT NULL,
    purchased_delta     INTEGER NOT NULL,
    requested           INTEGER NOT NULL CHECK (requested >= 0),
    signup_after        INTEGER NOT NULL CHECK (signup_after >= 0),
    purchased_after     INTEGER NOT NULL CHECK (purchased_after >= 0),
    balance_after       INTEGER NOT NULL CHECK (balance_after >= 0),
    low_balance_crossed INTEGER NOT NULL DEFAULT 0 CHECK (low_balance_crossed IN (0, 1)),
    usage_event_id      TEXT REFERENCES usage_events(id) ON DELETE RESTRICT,
    purchase_id         TEXT REFERENCES purchases(id) ON DELETE RESTRICT,
    payment_intent_id   TEXT,                                    -- pi_…
    charge_id           TEXT,                                    -- ch_…
    dispute_id          TEXT,                                    -- dp_…
    stripe_event_id     TEXT,                                    -- evt_… that caused it
    created_at          INTEGER NOT NULL,
    CHECK (amount = signup_delta + purchased_delta),
    CHECK (balance_after = signup_after + purchased_after),
    CHECK ((kind IN ('signup_grant', 'purchase') AND signup_delta >= 0 AND purchased_delta >= 0)
        OR (kind IN ('usage', 'refund', 'dispute') AND signup_delta <= 0 AND purchased_delta <= 0))
) STRICT;

CREATE INDEX idx_credit_ledger_user ON credit_ledger(user_id, created_at);
CREATE INDEX idx_credit_ledger_purchase ON credit_ledger(purchase_id);

CREATE TRIGGER credit_ledger_no_update BEFORE UPDATE ON credit_ledger
BEGIN
    SELECT RAISE(ABORT, 'credit_ledger is append-only: add a correcting entry');
END;

CREATE TRIGGER credit_ledger_no_delete BEFORE DELETE ON credit_ledger
BEGIN
    SELECT RAISE(ABORT, 'credit_ledger is append-only: add a correcting entry');
END;

-- users was created without a CHECK on its credit columns (0001 is frozen): this is it.
CREATE TRIGGER users_credits_never_negative
BEFORE UPDATE OF signup_credits, purchased_credits, credits_balance ON users
WHEN NEW.signup_credits < 0 OR NEW.purchased_credits < 0 OR NEW.credits_balance < 0
BEGIN
    SELECT RAISE(ABORT, 'credits cannot go negative');
END;

-- Stripe events handled, by id: a second delivery of one does nothing.
CREATE TABLE stripe_events (
    id             TEXT PRIMARY KEY,                             -- evt_…
    type           TEXT NOT NULL,
    stripe_created INTEGER NOT NULL,                             -- the event's unix seconds
    processed_at   INTEGER NOT NULL
) STRICT;
