-- Runs, attempts, queues, tasks, environments and workers.
-- Times are epoch seconds (DOUBLE PRECISION); JSON documents are TEXT.

CREATE TABLE environments (
    name              TEXT PRIMARY KEY,
    paused            INTEGER NOT NULL DEFAULT 0,
    concurrency_limit INTEGER,
    created_at        DOUBLE PRECISION NOT NULL,
    updated_at        DOUBLE PRECISION NOT NULL
);

CREATE TABLE queues (
    environment       TEXT NOT NULL,
    name              TEXT NOT NULL,
    concurrency_limit INTEGER,
    limit_override    INTEGER,
    paused            INTEGER NOT NULL DEFAULT 0,
    created_at        DOUBLE PRECISION NOT NULL,
    updated_at        DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (environment, name)
);

CREATE TABLE tasks (
    environment    TEXT NOT NULL,
    id             TEXT NOT NULL,
    queue          TEXT NOT NULL,
    payload_schema TEXT,
    retry          TEXT,
    max_duration   DOUBLE PRECISION,
    ttl            DOUBLE PRECISION,
    updated_at     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (environment, id)
);

CREATE TABLE runs (
    id                     TEXT PRIMARY KEY,
    environment            TEXT NOT NULL,
    task_id                TEXT NOT NULL,
    queue                  TEXT NOT NULL,
    status                 TEXT NOT NULL,
    payload                TEXT NOT NULL,
    output                 TEXT,
    error                  TEXT,
    tags                   TEXT NOT NULL DEFAULT '[]',
    metadata               TEXT NOT NULL DEFAULT '{}',
    priority               DOUBLE PRECISION NOT NULL DEFAULT 0,
    order_key              DOUBLE PRECISION NOT NULL,
    created_at             DOUBLE PRECISION NOT NULL,
    queued_at              DOUBLE PRECISION NOT NULL,
    delay_until            DOUBLE PRECISION,
    expires_at             DOUBLE PRECISION,
    started_at             DOUBLE PRECISION,
    finished_at            DOUBLE PRECISION,
    attempt_count          INTEGER NOT NULL DEFAULT 0,
    current_attempt_id     TEXT,
    retry                  TEXT NOT NULL,
    max_duration           DOUBLE PRECISION,
    ttl                    DOUBLE PRECISION,
    idempotency_key        TEXT,
    idempotency_expires_at DOUBLE PRECISION,
    concurrency_key        TEXT,
    parent_run_id          TEXT,
    root_run_id            TEXT,
    batch_id               TEXT,
    replayed_from          TEXT,
    worker_id              TEXT,
    lease_expires_at       DOUBLE PRECISION,
    updated_at             DOUBLE PRECISION NOT NULL
);

-- Dequeue: the head of the environment's queued runs, in order_key order.
CREATE INDEX runs_dequeue ON runs (environment, order_key, id) WHERE status = 'QUEUED';
CREATE INDEX runs_delayed ON runs (delay_until) WHERE status = 'DELAYED';
CREATE INDEX runs_expiring ON runs (expires_at)
    WHERE expires_at IS NOT NULL AND status IN ('QUEUED', 'DELAYED');
-- Running counts per queue, lease renewal and lapse checks: a small set.
CREATE INDEX runs_executing ON runs (environment, queue) WHERE status = 'EXECUTING';
CREATE UNIQUE INDEX runs_idempotency ON runs (environment, task_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX runs_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;
CREATE INDEX runs_env_id ON runs (environment, id);
CREATE INDEX runs_env_status_id ON runs (environment, status, id);
CREATE INDEX runs_env_task_id ON runs (environment, task_id, id);

CREATE TABLE run_tags (
    tag    TEXT NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (tag, run_id)
);

CREATE TABLE attempts (
    id          TEXT PRIMARY KEY,
    run_id      TEXT NOT NULL,
    number      INTEGER NOT NULL,
    status      TEXT NOT NULL,
    worker_id   TEXT,
    started_at  DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION,
    error       TEXT
);
CREATE INDEX attempts_run ON attempts (run_id, number);

CREATE TABLE workers (
    id           TEXT PRIMARY KEY,
    environment  TEXT NOT NULL,
    hostname     TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    task_ids     TEXT NOT NULL,
    started_at   DOUBLE PRECISION NOT NULL,
    heartbeat_at DOUBLE PRECISION NOT NULL
);
