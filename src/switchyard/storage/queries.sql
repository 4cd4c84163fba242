-- Statements shared by SQLite and PostgreSQL. Dialect files override by name.
-- Placeholders are :name; CAST(:x AS TEXT) IS NULL makes "no filter" work on both.

-- name: ensure_environment
INSERT INTO environments (name, created_at, updated_at) VALUES (:environment, :now, :now)
ON CONFLICT (name) DO NOTHING

-- name: ensure_queue
INSERT INTO queues (environment, name, concurrency_limit, created_at, updated_at)
VALUES (:environment, :name, :concurrency_limit, :now, :now)
ON CONFLICT (environment, name) DO NOTHING

-- name: define_queue
INSERT INTO queues (
    environment, name, concurrency_limit, rate_limit, rate_period, created_at, updated_at
)
VALUES (:environment, :name, :concurrency_limit, :rate_limit, :rate_period, :now, :now)
ON CONFLICT (environment, name) DO UPDATE
SET concurrency_limit = excluded.concurrency_limit, rate_limit = excluded.rate_limit,
    rate_period = excluded.rate_period, updated_at = excluded.updated_at

-- name: upsert_task
INSERT INTO tasks (environment, id, queue, payload_schema, retry, max_duration, ttl, updated_at)
VALUES (:environment, :id, :queue, :payload_schema, :retry, :max_duration, :ttl, :now)
ON CONFLICT (environment, id) DO UPDATE
SET queue = excluded.queue, payload_schema = excluded.payload_schema, retry = excluded.retry,
    max_duration = excluded.max_duration, ttl = excluded.ttl, updated_at = excluded.updated_at

-- name: get_task
SELECT t.*, q.concurrency_limit AS queue_concurrency_limit
FROM tasks t LEFT JOIN queues q ON q.environment = t.environment AND q.name = t.queue
WHERE t.environment = :environment AND t.id = :id

-- name: list_tasks
SELECT t.*, q.concurrency_limit AS queue_concurrency_limit
FROM tasks t LEFT JOIN queues q ON q.environment = t.environment AND q.name = t.queue
WHERE t.environment = :environment ORDER BY t.id

-- name: upsert_worker
INSERT INTO workers (id, environment, hostname, pid, task_ids, started_at, heartbeat_at)
VALUES (:id, :environment, :hostname, :pid, :task_ids, :now, :now)
ON CONFLICT (id) DO UPDATE SET task_ids = excluded.task_ids, heartbeat_at = excluded.heartbeat_at

-- name: find_idempotent_run
SELECT id, status, idempotency_expires_at FROM runs
WHERE environment = :environment AND task_id = :task_id AND idempotency_key = :idempotency_key

-- name: free_idempotency_key
UPDATE runs SET idempotency_key = NULL, idempotency_expires_at = NULL, updated_at = :now
WHERE id = :id

-- name: insert_run
INSERT INTO runs (
    id, environment, task_id, queue, status, payload, tags, metadata, priority, order_key,
    created_at, queued_at, delay_until, expires_at, retry, max_duration, ttl,
    idempotency_key, idempotency_expires_at, concurrency_key, parent_run_id, root_run_id,
    batch_id, replayed_from, debounce_key, updated_at
) VALUES (
    :id, :environment, :task_id, :queue, :status, :payload, :tags, :metadata, :priority,
    :order_key, :now, :queued_at, :delay_until, :expires_at, :retry, :max_duration, :ttl,
    :idempotency_key, :idempotency_expires_at, :concurrency_key, :parent_run_id,
    :root_run_id, :batch_id, :replayed_from, :debounce_key, :now
)
ON CONFLICT DO NOTHING

-- name: insert_tag
INSERT INTO run_tags (tag, run_id) VALUES (:tag, :run_id) ON CONFLICT DO NOTHING

-- name: environment_state
SELECT paused, concurrency_limit FROM environments WHERE name = :environment

-- name: limited_queues
SELECT name, COALESCE(limit_override, concurrency_limit) AS effective_limit, paused,
       rate_limit, rate_period
FROM queues
WHERE environment = :environment
  AND (paused = 1 OR concurrency_limit IS NOT NULL OR limit_override IS NOT NULL
       OR rate_limit IS NOT NULL)
ORDER BY name

-- name: running_counts
SELECT queue, concurrency_key, COUNT(*) AS running FROM runs
WHERE environment = :environment AND status = 'EXECUTING'
GROUP BY queue, concurrency_key

-- name: has_keyed_queued
SELECT 1 AS found FROM runs
WHERE environment = :environment AND status = 'QUEUED' AND concurrency_key IS NOT NULL
LIMIT 1

-- name: queued_keys
WITH RECURSIVE keys(k) AS (
    SELECT MIN(concurrency_key) FROM runs
    WHERE environment = :environment AND status = 'QUEUED' AND concurrency_key > :after
    UNION ALL
    SELECT (SELECT MIN(concurrency_key) FROM runs
            WHERE environment = :environment AND status = 'QUEUED' AND concurrency_key > keys.k)
    FROM keys WHERE keys.k IS NOT NULL
)
SELECT k FROM keys WHERE k IS NOT NULL LIMIT :limit

-- name: mark_claimed
UPDATE runs
SET status = 'EXECUTING', attempt_count = attempt_count + 1, current_attempt_id = :attempt_id,
    worker_id = :worker_id, lease_expires_at = :lease_expires_at,
    started_at = COALESCE(started_at, :now), expires_at = NULL, debounce_key = NULL,
    updated_at = :now
WHERE id = :id AND status = 'QUEUED'

-- name: insert_attempt
INSERT INTO attempts (id, run_id, number, status, worker_id, started_at)
VALUES (:id, :run_id, :number, 'EXECUTING', :worker_id, :now)

-- name: finish_run
UPDATE runs
SET status = :status, output = :output, error = :error, finished_at = :finished_at,
    delay_until = :retry_at, worker_id = NULL, lease_expires_at = NULL, updated_at = :now
WHERE id = :run_id AND current_attempt_id = :attempt_id AND status = 'EXECUTING'

-- name: finish_attempt
UPDATE attempts SET status = :attempt_status, finished_at = :now, error = :error
WHERE id = :attempt_id AND status = 'EXECUTING'

-- name: renew_leases
UPDATE runs SET lease_expires_at = :lease_expires_at
WHERE worker_id = :worker_id AND status = 'EXECUTING'

-- name: held_runs
SELECT id, current_attempt_id FROM runs WHERE worker_id = :worker_id AND status = 'EXECUTING'

-- name: heartbeat_worker
UPDATE workers SET heartbeat_at = :now WHERE id = :worker_id

-- name: release_run
UPDATE runs
SET status = 'QUEUED', worker_id = NULL, lease_expires_at = NULL, updated_at = :now
WHERE id = :id AND worker_id = :worker_id AND status = 'EXECUTING'

-- name: release_attempt
UPDATE attempts SET status = 'RELEASED', finished_at = :now
WHERE run_id = :id AND status = 'EXECUTING'

-- name: promote_delayed
UPDATE runs SET status = 'QUEUED', delay_until = NULL, updated_at = :now
WHERE status = 'DELAYED' AND delay_until <= :now

-- name: expire_runs
UPDATE runs
SET status = 'EXPIRED', finished_at = :now, updated_at = :now,
    error = '{"type":"RunExpired","message":"the run was not started before its TTL ran out"}'
WHERE status IN ('QUEUED', 'DELAYED') AND expires_at IS NOT NULL AND expires_at <= :now
RETURNING id

-- name: lapsed_runs
SELECT * FROM runs WHERE status = 'EXECUTING' AND lease_expires_at < :now

-- name: requeue_lapsed
UPDATE runs
SET status = :status, worker_id = NULL, lease_expires_at = NULL, error = :error,
    finished_at = :finished_at, updated_at = :now
WHERE id = :id AND status = 'EXECUTING' AND current_attempt_id = :attempt_id

-- name: get_run
SELECT * FROM runs WHERE environment = :environment AND id = :id

-- name: list_attempts
SELECT * FROM attempts WHERE run_id = :run_id ORDER BY number, started_at

-- name: run_tree
WITH RECURSIVE tree(id) AS (
    SELECT id FROM runs WHERE environment = :environment AND id = :id
    UNION
    SELECT r.id FROM runs r JOIN tree t ON r.parent_run_id = t.id
)
SELECT runs.id, runs.status FROM runs JOIN tree ON runs.id = tree.id

-- name: cancel_run
UPDATE runs
SET status = 'CANCELED', finished_at = :now, worker_id = NULL, lease_expires_at = NULL,
    error = '{"type":"RunCanceled","message":"the run was canceled"}', updated_at = :now
WHERE id = :id AND status IN ('DELAYED', 'QUEUED', 'EXECUTING', 'WAITING')

-- name: cancel_attempts
UPDATE attempts SET status = 'CANCELED', finished_at = :now
WHERE run_id = :id AND status = 'EXECUTING'

-- name: list_queues
SELECT q.name, q.environment, COALESCE(q.limit_override, q.concurrency_limit) AS effective_limit,
       q.paused,
       (SELECT COUNT(*) FROM runs r WHERE r.environment = q.environment AND r.queue = q.name
            AND r.status = 'QUEUED') AS queued,
       (SELECT COUNT(*) FROM runs r WHERE r.environment = q.environment AND r.queue = q.name
            AND r.status = 'EXECUTING') AS running
FROM queues q WHERE q.environment = :environment ORDER BY q.name

-- ---------------------------------------------------------------------------------
-- Waitpoints and the journal
-- ---------------------------------------------------------------------------------

-- name: insert_waitpoint
INSERT INTO waitpoints (
    id, environment, kind, status, output, error, complete_after, timeout_at,
    idempotency_key, idempotency_expires_at, tags, child_run_id, batch_id,
    batch_total, created_by_run_id, created_at, completed_at, updated_at
) VALUES (
    :id, :environment, :kind, :status, :output, :error, :complete_after, :timeout_at,
    :idempotency_key, :idempotency_expires_at, :tags, :child_run_id,
    :batch_id, :batch_total, :created_by_run_id, :now, :completed_at, :now
)
ON CONFLICT (environment, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING

-- name: insert_waitpoint_tag
INSERT INTO waitpoint_tags (tag, waitpoint_id) VALUES (:tag, :waitpoint_id)
ON CONFLICT DO NOTHING

-- name: find_idempotent_waitpoint
SELECT * FROM waitpoints WHERE environment = :environment AND idempotency_key = :idempotency_key

-- name: free_waitpoint_key
UPDATE waitpoints SET idempotency_key = NULL, idempotency_expires_at = NULL, updated_at = :now
WHERE id = :id

-- name: get_waitpoint
SELECT * FROM waitpoints WHERE id = :id

-- name: waitpoint_for_child_run
SELECT * FROM waitpoints WHERE child_run_id = :child_run_id

-- name: lock_waitpoint
SELECT * FROM waitpoints WHERE id = :id

-- name: complete_waitpoint
UPDATE waitpoints
SET status = :status, output = :output, error = :error, completed_at = :now, updated_at = :now
WHERE id = :id AND status = 'PENDING'

-- name: blocked_runs
SELECT rw.run_id FROM run_waitpoints rw JOIN runs r ON r.id = rw.run_id
WHERE rw.waitpoint_id = :waitpoint_id AND r.status = 'WAITING'

-- name: unblock_run
UPDATE runs SET status = 'QUEUED', is_resuming = 1, updated_at = :now
WHERE id = :run_id AND status = 'WAITING'

-- name: clear_blockers
DELETE FROM run_waitpoints WHERE run_id = :run_id

-- name: insert_blocker
INSERT INTO run_waitpoints (run_id, waitpoint_id, created_at) VALUES (:run_id, :waitpoint_id, :now)
ON CONFLICT DO NOTHING

-- name: due_waitpoints
SELECT id, kind FROM waitpoints
WHERE status = 'PENDING'
  AND ((complete_after IS NOT NULL AND complete_after <= :now)
       OR (timeout_at IS NOT NULL AND timeout_at <= :now))
LIMIT 1000

-- name: insert_journal
INSERT INTO journal (run_id, attempt_number, position, kind, name, waitpoint_id, result, created_at)
VALUES (:run_id, :attempt_number, :position, :kind, :name, :waitpoint_id, :result, :now)

-- name: run_waitpoint_history
-- Past waits from the journal of every attempt (blocking edges go when a run resumes),
-- current ones from the blocking edges.
SELECT * FROM waitpoints
WHERE id IN (
    SELECT waitpoint_id FROM journal WHERE run_id = :run_id AND waitpoint_id IS NOT NULL
    UNION
    SELECT waitpoint_id FROM run_waitpoints WHERE run_id = :run_id
)
ORDER BY created_at, id

-- name: load_journal
SELECT j.position, j.kind, j.name, j.waitpoint_id, j.result, w.id AS w_id
FROM journal j LEFT JOIN waitpoints w ON w.id = j.waitpoint_id
WHERE j.run_id = :run_id AND j.attempt_number = :attempt_number
ORDER BY j.position

-- ---------------------------------------------------------------------------------
-- Steps recorded once per run (run_steps), fenced by the attempt that runs them
-- ---------------------------------------------------------------------------------

-- name: lock_live_attempt
-- The attempt is still the run's live one: executing, or suspended (WAITING) with its
-- coroutine parked. A lapsed lease makes the run QUEUED (then a new attempt) or
-- CRASHED, so a worker that lost its lease finds no row. PostgreSQL locks the row.
SELECT id FROM runs
WHERE id = :run_id AND current_attempt_id = :attempt_id AND status IN ('EXECUTING', 'WAITING')

-- name: insert_step
INSERT INTO run_steps (run_id, step_key, attempt_number, result, created_at)
VALUES (:run_id, :step_key, :attempt_number, :result, :now)
ON CONFLICT (run_id, step_key) DO NOTHING

-- name: insert_step_journal
-- Two executions of one attempt (a stale parked one and a replay) may both finish a
-- step: the first entry stays.
INSERT INTO journal (run_id, attempt_number, position, kind, name, waitpoint_id, result, created_at)
VALUES (:run_id, :attempt_number, :position, :kind, :name, :waitpoint_id, :result, :now)
ON CONFLICT (run_id, attempt_number, position) DO NOTHING

-- name: get_step
SELECT result FROM run_steps WHERE run_id = :run_id AND step_key = :step_key

-- name: load_steps
SELECT step_key, result FROM run_steps WHERE run_id = :run_id

-- name: unfinished_in_batch
SELECT COUNT(*) AS n FROM runs
WHERE batch_id = :batch_id
  AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELED', 'CRASHED', 'EXPIRED', 'TIMED_OUT',
                     'SYSTEM_FAILURE')

-- name: run_waitpoint_ids
SELECT waitpoint_id FROM run_waitpoints WHERE run_id = :run_id

-- name: get_setting
SELECT value FROM settings WHERE name = :name

-- name: insert_setting
INSERT INTO settings (name, value) VALUES (:name, :value) ON CONFLICT (name) DO NOTHING

-- ---------------------------------------------------------------------------------
-- Queue and environment control, statistics
-- ---------------------------------------------------------------------------------

-- name: set_queue_paused
UPDATE queues SET paused = :paused, updated_at = :now
WHERE environment = :environment AND name = :name

-- name: set_queue_override
UPDATE queues SET limit_override = :limit, updated_at = :now
WHERE environment = :environment AND name = :name

-- name: set_environment_paused
UPDATE environments SET paused = :paused, updated_at = :now WHERE name = :environment

-- name: set_environment_limit
UPDATE environments SET concurrency_limit = :limit, updated_at = :now WHERE name = :environment

-- name: get_queue
SELECT * FROM queues WHERE environment = :environment AND name = :name

-- name: queue_status_counts
SELECT status, COUNT(*) AS n FROM runs
WHERE environment = :environment AND queue = :name
  AND status IN ('QUEUED', 'EXECUTING', 'WAITING', 'DELAYED')
GROUP BY status

-- name: oldest_queued
SELECT MIN(queued_at) AS oldest FROM runs
WHERE environment = :environment AND queue = :name AND status = 'QUEUED'

-- name: recent_starts
SELECT a.number, a.started_at - r.queued_at AS waited
FROM attempts a JOIN runs r ON r.id = a.run_id
WHERE a.started_at >= :since AND r.environment = :environment AND r.queue = :name
LIMIT 20000

-- name: running_by_worker
SELECT worker_id, COUNT(*) AS running FROM runs
WHERE environment = :environment AND status = 'EXECUTING'
GROUP BY worker_id

-- name: list_workers
SELECT * FROM workers WHERE environment = :environment ORDER BY heartbeat_at DESC LIMIT 200

-- name: get_environment
SELECT * FROM environments WHERE name = :environment

-- name: reset_idempotency_key
UPDATE runs SET idempotency_key = NULL, idempotency_expires_at = NULL, updated_at = :now
WHERE environment = :environment AND task_id = :task_id AND idempotency_key = :idempotency_key

-- ---------------------------------------------------------------------------------
-- The HTTP API: API keys, request idempotency, run edits and realtime run changes
-- ---------------------------------------------------------------------------------

-- name: insert_api_key
INSERT INTO api_keys (id, environment, name, prefix, key_hash, created_at)
VALUES (:id, :environment, :name, :prefix, :key_hash, :now)

-- name: list_api_keys
SELECT * FROM api_keys WHERE :all_environments = 1 OR environment = :environment
ORDER BY created_at, id

-- name: find_api_key
SELECT * FROM api_keys WHERE key_hash = :key_hash

-- name: get_api_key
SELECT * FROM api_keys WHERE id = :id

-- name: revoke_api_key
UPDATE api_keys SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL

-- name: touch_api_key
UPDATE api_keys SET last_used_at = :now WHERE id = :id

-- name: reserve_request
INSERT INTO request_idempotency
    (environment, request_key, request_hash, status, response, created_at, expires_at)
VALUES (:environment, :request_key, :request_hash, 0, NULL, :now, :expires_at)
ON CONFLICT (environment, request_key) DO NOTHING

-- name: get_request
SELECT * FROM request_idempotency
WHERE environment = :environment AND request_key = :request_key

-- name: take_over_request
UPDATE request_idempotency
SET request_hash = :request_hash, status = 0, response = NULL, created_at = :now,
    expires_at = :expires_at
WHERE environment = :environment AND request_key = :request_key AND created_at < :now
  AND (expires_at <= :now OR (status = 0 AND created_at <= :stale_before))

-- name: finish_request
-- A reservation is identified by its created_at: a takeover always sets a later one,
-- so a request whose key a retry took over can no longer finish or release it.
UPDATE request_idempotency SET status = :status, response = :response, expires_at = :expires_at
WHERE environment = :environment AND request_key = :request_key AND status = 0
  AND created_at = :reserved_at

-- name: release_request
DELETE FROM request_idempotency
WHERE environment = :environment AND request_key = :request_key AND status = 0
  AND created_at = :reserved_at

-- name: purge_requests
DELETE FROM request_idempotency WHERE expires_at <= :now

-- name: update_run_metadata
UPDATE runs SET metadata = :metadata, updated_at = :now
WHERE environment = :environment AND id = :id

-- name: reschedule_run
UPDATE runs
SET delay_until = :delay_until, queued_at = :delay_until, order_key = :delay_until - priority,
    expires_at = CASE WHEN ttl IS NULL THEN NULL ELSE :delay_until + ttl END, updated_at = :now
WHERE environment = :environment AND id = :id AND status = 'DELAYED' AND attempt_count = 0

-- ---------------------------------------------------------------------------------
-- Rate limits and debounce
-- ---------------------------------------------------------------------------------

-- name: starts_since
SELECT COUNT(*) AS n FROM attempts a JOIN runs r ON r.id = a.run_id
WHERE a.started_at > :since AND r.environment = :environment AND r.queue = :name

-- name: find_debounced
SELECT id, payload FROM runs
WHERE environment = :environment AND task_id = :task_id AND debounce_key = :debounce_key
  AND status = 'DELAYED'

-- name: rearm_debounced
UPDATE runs
SET payload = :payload, metadata = :metadata, tags = :tags, priority = :priority,
    delay_until = :delay_until, queued_at = :queued_at, order_key = :order_key,
    expires_at = :expires_at, updated_at = :now
WHERE id = :id AND status = 'DELAYED'
