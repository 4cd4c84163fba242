-- Claims with concurrency keys read each queued key's head and the head of the runs
-- without a key: both must be short index range scans however long the backlog.

-- The head of the key-less runs. Without it, a claim read every queued run (a full
-- scan on PostgreSQL, a walk of runs_dequeue on SQLite) whenever all of them had keys.
CREATE INDEX runs_queued_unkeyed ON runs (environment, order_key, id)
    WHERE status = 'QUEUED' AND concurrency_key IS NULL;

-- One key's runs in claim order (order_key, id) with no sort: SQLite otherwise walked
-- runs_dequeue past every other key's runs to find one key's head.
DROP INDEX runs_queued_keys;
CREATE INDEX runs_queued_keys ON runs (environment, concurrency_key, order_key, id)
    WHERE status = 'QUEUED' AND concurrency_key IS NOT NULL;
