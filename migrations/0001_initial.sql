-- 0001_initial: the whole chatcode schema, merging seed 000 (control plane: DigitalOcean,
-- VPS, gateways, terminal sessions, SSH keys) and seed 002 (account: GitHub sign-in, login
-- sessions, credits, Stripe, HUD pages).
--
-- Conventions
-- * Applied once by POST /internal/migrate, which records it in schema_migrations (created by
--   the runner, not here), inside a transaction the runner opens: no BEGIN/COMMIT here.
--   Never edit this file after it ships (its checksum is recorded): add 0002_… instead.
-- * Every timestamp is INTEGER unix milliseconds (chatcode_core::time::now_ms). There are no
--   SQL clock defaults: code supplies created_at / updated_at.
-- * Ids are TEXT: usr-, vps-, gw-, ses-, key- plus 21 URL-safe characters (chatcode_core::ids).
-- * Booleans are INTEGER 0/1. JSON documents are TEXT.
-- * Secrets never appear in plain text:
--     *_encrypted columns hold third-party credentials (DigitalOcean, GitHub, API keys) as
--     ciphertext, encrypted by the application before they are written;
--     *_hash columns hold lowercase hex HMAC-SHA256(token, salt) of our own tokens
--     (gateway tokens, login-session tokens); compare in constant time.
-- * Tables are STRICT, so a value of the wrong type (a text timestamp) is an error.
-- * Foreign keys are declared with their ON DELETE policy; SQLite enforces them only on
--   connections with PRAGMA foreign_keys = ON.
-- * Users are soft-deleted (deleted_at). A hard delete is refused while the user still has
--   VPS rows (a live droplet must be destroyed first) or billing records (kept for accounting).

-- Users (seed 002's columns; seed 000's users(id, created_at) merged in).
CREATE TABLE users (
    id                            TEXT PRIMARY KEY,               -- usr-…
    email                         TEXT,
    username                      TEXT,
    github_id                     TEXT UNIQUE,
    github_username               TEXT,
    github_access_token_encrypted TEXT,
    api_key_encrypted             TEXT,
    billing_info_encrypted        TEXT,
    handoff_token_encrypted       TEXT,
    handoff_expires_at            INTEGER,
    signup_credits                INTEGER NOT NULL DEFAULT 100000,
    purchased_credits             INTEGER NOT NULL DEFAULT 0,
    credits_balance               INTEGER NOT NULL DEFAULT 100000,
    payment_method_status         TEXT DEFAULT 'none',
    payment_method_brand          TEXT,
    payment_method_last4          TEXT,
    payment_method_added_at       INTEGER,
    low_balance_threshold         INTEGER DEFAULT 20000,
    low_balance_warned            INTEGER DEFAULT 0 CHECK (low_balance_warned IN (0, 1)),
    created_at                    INTEGER NOT NULL,
    updated_at                    INTEGER,
    deleted_at                    INTEGER
) STRICT;

CREATE INDEX idx_users_github_id ON users(github_id);
CREATE UNIQUE INDEX idx_users_username ON users(username);

-- Verified e-mail addresses (seed 000; sign-in by e-mail comes later).
CREATE TABLE email_identities (
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email       TEXT NOT NULL UNIQUE,
    verified_at INTEGER,
    PRIMARY KEY (user_id, email)
) STRICT;

-- Login sessions (seed 002's persistent_sessions; the live copy is in key-value).
-- token_hash = HMAC-SHA256 of the session token; the token itself is only in the cookie.
CREATE TABLE persistent_sessions (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash     TEXT NOT NULL UNIQUE,
    user_agent     TEXT,
    ip_address     TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    last_active_at INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_persistent_sessions_user ON persistent_sessions(user_id);

-- DigitalOcean OAuth connection, one per user. Tokens are stored encrypted only.
CREATE TABLE do_connections (
    user_id                 TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    do_account_uuid         TEXT NOT NULL UNIQUE,                -- OAuth info.uuid
    do_email                TEXT,
    access_token_encrypted  TEXT NOT NULL,
    refresh_token_encrypted TEXT NOT NULL,
    team_uuid               TEXT,
    expires_at              INTEGER NOT NULL,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
) STRICT;

-- VPS / droplet records. The droplet is created before the row is written.
CREATE TABLE vps (
    id         TEXT PRIMARY KEY,                                  -- vps-…
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
    name       TEXT NOT NULL,
    droplet_id INTEGER NOT NULL,
    region     TEXT NOT NULL,
    size       TEXT NOT NULL,
    image      TEXT NOT NULL,
    ipv4       TEXT,
    status     TEXT NOT NULL DEFAULT 'provisioning' CHECK (status IN (
                   'provisioning', 'active', 'powering_off', 'off', 'powering_on',
                   'provisioning_timeout', 'deleting', 'error')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_vps_user ON vps(user_id);

-- Gateway daemons, one per VPS. auth_token_hash = HMAC-SHA256(token, gateway_token_salt);
-- the plain token exists only in the VPS's cloud-init environment.
CREATE TABLE gateways (
    id              TEXT PRIMARY KEY,                             -- gw-…
    vps_id          TEXT NOT NULL REFERENCES vps(id) ON DELETE CASCADE,
    auth_token_hash TEXT NOT NULL,
    version         TEXT,
    hostname        TEXT,
    system_info     TEXT,                                         -- JSON from gateway.hello
    last_health     TEXT,                                         -- JSON from gateway.health
    last_seen_at    INTEGER,
    connected       INTEGER NOT NULL DEFAULT 0 CHECK (connected IN (0, 1)),
    disconnected_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (vps_id)
) STRICT;

-- Terminal (tmux) sessions running an agent on a VPS.
CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,                            -- ses-…
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    vps_id           TEXT NOT NULL REFERENCES vps(id) ON DELETE CASCADE,
    title            TEXT NOT NULL,
    agent_type       TEXT NOT NULL DEFAULT 'claude-code',
    agent_config     TEXT,                                        -- JSON
    workdir          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'starting',
    error            TEXT,
    exit_code        INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    ended_at         INTEGER,
    last_activity_at INTEGER
) STRICT;

CREATE INDEX idx_sessions_vps ON sessions(vps_id);
CREATE INDEX idx_sessions_user ON sessions(user_id);

-- Authorized SSH public keys on a VPS (no private keys are stored).
CREATE TABLE authorized_keys (
    id          TEXT PRIMARY KEY,                                 -- key-…
    vps_id      TEXT NOT NULL REFERENCES vps(id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    label       TEXT NOT NULL,
    key_type    TEXT NOT NULL DEFAULT 'user' CHECK (key_type IN ('user', 'support')),
    expires_at  INTEGER,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX idx_authorized_keys_vps_fp ON authorized_keys(vps_id, fingerprint);

-- Stripe customer per user.
CREATE TABLE stripe_customers (
    user_id            TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    stripe_customer_id TEXT NOT NULL UNIQUE,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER
) STRICT;

-- Stripe payment methods (card metadata only, never card numbers).
CREATE TABLE stripe_payment_methods (
    stripe_payment_method_id TEXT PRIMARY KEY,
    user_id                  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    pm_type                  TEXT NOT NULL,
    brand                    TEXT,
    last4                    TEXT,
    exp_month                INTEGER,
    exp_year                 INTEGER,
    is_default               INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER
) STRICT;

CREATE INDEX idx_stripe_pm_user ON stripe_payment_methods(user_id);

-- Credit usage. session_id names the metered agent session (not necessarily a terminal
-- session row), so it has no foreign key. Billing records survive user deletion attempts.
CREATE TABLE usage_events (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
    session_id    TEXT,
    event_type    TEXT NOT NULL,
    model         TEXT,
    input_tokens  INTEGER DEFAULT 0,
    output_tokens INTEGER DEFAULT 0,
    credits_used  INTEGER NOT NULL DEFAULT 0,
    refunded      INTEGER DEFAULT 0 CHECK (refunded IN (0, 1)),
    created_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_usage_user ON usage_events(user_id);
CREATE INDEX idx_usage_session ON usage_events(session_id);

-- Invoices (billing records, kept like usage_events).
CREATE TABLE invoices (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
    amount_cents INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'draft',
    pdf_url      TEXT,
    issued_at    INTEGER,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_invoices_user ON invoices(user_id);

-- Repositories a user granted write access to.
CREATE TABLE repo_write_access (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    repo       TEXT NOT NULL,
    scope      TEXT NOT NULL DEFAULT 'write',
    granted_at INTEGER NOT NULL,
    UNIQUE (user_id, repo)
) STRICT;

-- Public HUD page settings (public and embeddable by default).
CREATE TABLE hud_settings (
    user_id       TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    repo          TEXT NOT NULL,
    is_public     INTEGER NOT NULL DEFAULT 1 CHECK (is_public IN (0, 1)),
    embed_allowed INTEGER NOT NULL DEFAULT 1 CHECK (embed_allowed IN (0, 1)),
    created_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_hud_repo ON hud_settings(repo);
