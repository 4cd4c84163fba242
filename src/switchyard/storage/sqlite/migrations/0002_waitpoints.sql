-- Waitpoints (durations, tokens, child runs, batches), what runs are blocked on,
-- and each attempt's journal of durable operations (the checkpoint).

ALTER TABLE runs ADD COLUMN is_resuming INTEGER NOT NULL DEFAULT 0;

CREATE TABLE waitpoints (
    id                     TEXT PRIMARY KEY,
    environment            TEXT NOT NULL,
    kind                   TEXT NOT NULL,
    status                 TEXT NOT NULL,
    output                 TEXT,
    error                  TEXT,
    complete_after         REAL,
    timeout_at             REAL,
    idempotency_key        TEXT,
    idempotency_expires_at REAL,
    tags                   TEXT NOT NULL DEFAULT '[]',
    child_run_id           TEXT,
    batch_id               TEXT,
    batch_total            INTEGER,
    created_by_run_id      TEXT,
    created_at             REAL NOT NULL,
    completed_at           REAL,
    updated_at             REAL NOT NULL
);
CREATE UNIQUE INDEX waitpoints_idempotency ON waitpoints (environment, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX waitpoints_due ON waitpoints (complete_after) WHERE status = 'PENDING';
CREATE INDEX waitpoints_timeout ON waitpoints (timeout_at) WHERE status = 'PENDING';
CREATE UNIQUE INDEX waitpoints_child_run ON waitpoints (child_run_id)
    WHERE child_run_id IS NOT NULL;
CREATE UNIQUE INDEX waitpoints_batch ON waitpoints (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX waitpoints_env_kind_id ON waitpoints (environment, kind, id);

CREATE TABLE waitpoint_tags (
    tag          TEXT NOT NULL,
    waitpoint_id TEXT NOT NULL,
    PRIMARY KEY (tag, waitpoint_id)
);

CREATE TABLE run_waitpoints (
    run_id       TEXT NOT NULL,
    waitpoint_id TEXT NOT NULL,
    created_at   REAL NOT NULL,
    PRIMARY KEY (run_id, waitpoint_id)
);
CREATE INDEX run_waitpoints_waitpoint ON run_waitpoints (waitpoint_id);

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE journal (
    run_id         TEXT NOT NULL,
    attempt_number INTEGER NOT NULL,
    position       INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    waitpoint_id   TEXT,
    result         TEXT,
    created_at     REAL NOT NULL,
    PRIMARY KEY (run_id, attempt_number, position)
);
