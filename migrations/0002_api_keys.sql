-- 0002_api_keys: API keys (seed 002's account API keys), one row per key. Only the SHA-256 of
-- the whole key is stored; `prefix` (`cck_` + 8 characters) finds the row and is what lists
-- show. Revoking a key deletes its row, so a revoked key matches nothing from then on.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,                                -- akey-…
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL UNIQUE,
    key_hash     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;

CREATE INDEX idx_api_keys_user ON api_keys(user_id);
