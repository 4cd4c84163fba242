-- Rate limits per queue (N runs started per period, across all workers) and debounce
-- (a burst of triggers with one key collapses into one run).

ALTER TABLE queues ADD COLUMN rate_limit INTEGER;
ALTER TABLE queues ADD COLUMN rate_period REAL;
ALTER TABLE runs ADD COLUMN debounce_key TEXT;

-- One open trailing-debounce window per (environment, task, key): the delayed run that
-- later triggers push back and update. Cleared when the run first starts.
CREATE UNIQUE INDEX runs_debounce ON runs (environment, task_id, debounce_key)
    WHERE status = 'DELAYED' AND debounce_key IS NOT NULL;
