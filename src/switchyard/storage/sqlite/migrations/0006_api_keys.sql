-- The HTTP API: secret API keys per environment (stored hashed), the responses of
-- requests sent with an Idempotency-Key header (kept 24 hours), and an index that
-- lets realtime streams find runs changed since a moment.

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    environment  TEXT NOT NULL,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL,
    created_at   REAL NOT NULL,
    last_used_at REAL,
    revoked_at   REAL
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash);
CREATE INDEX api_keys_env ON api_keys (environment, created_at);

-- status 0: the first request with the key is still being handled.
CREATE TABLE request_idempotency (
    environment  TEXT NOT NULL,
    request_key  TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    response     TEXT,
    created_at   REAL NOT NULL,
    expires_at   REAL NOT NULL,
    PRIMARY KEY (environment, request_key)
);
CREATE INDEX request_idempotency_expires ON request_idempotency (expires_at);

CREATE INDEX runs_env_updated ON runs (environment, updated_at);
CREATE INDEX run_tags_run ON run_tags (run_id);
