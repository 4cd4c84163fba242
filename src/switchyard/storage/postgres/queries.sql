-- PostgreSQL versions: row locks (SKIP LOCKED) so many workers claim without
-- blocking each other, arrays for lists, and NOTIFY for wake-ups.

-- name: limited_queues
SELECT name, COALESCE(limit_override, concurrency_limit) AS effective_limit, paused,
       rate_limit, rate_period
FROM queues
WHERE environment = :environment
  AND (paused = 1 OR concurrency_limit IS NOT NULL OR limit_override IS NOT NULL
       OR rate_limit IS NOT NULL)
ORDER BY name
FOR UPDATE

-- name: claim_candidates
SELECT * FROM runs
WHERE environment = :environment AND status = 'QUEUED'
  AND task_id = ANY(CAST(:task_ids AS TEXT[]))
  AND NOT (queue = ANY(CAST(:blocked AS TEXT[])))
ORDER BY order_key, id
LIMIT :limit
FOR UPDATE SKIP LOCKED

-- name: key_candidates
SELECT * FROM runs
WHERE environment = :environment AND status = 'QUEUED' AND concurrency_key = :key
  AND task_id = ANY(CAST(:task_ids AS TEXT[]))
  AND NOT (queue = ANY(CAST(:blocked AS TEXT[])))
ORDER BY order_key, id
LIMIT :limit
FOR UPDATE SKIP LOCKED

-- name: unkeyed_candidates
SELECT * FROM runs
WHERE environment = :environment AND status = 'QUEUED' AND concurrency_key IS NULL
  AND task_id = ANY(CAST(:task_ids AS TEXT[]))
  AND NOT (queue = ANY(CAST(:blocked AS TEXT[])))
ORDER BY order_key, id
LIMIT :limit
FOR UPDATE SKIP LOCKED

-- name: lapsed_runs
SELECT * FROM runs WHERE status = 'EXECUTING' AND lease_expires_at < :now
FOR UPDATE SKIP LOCKED

-- name: notify
SELECT pg_notify('switchyard', :environment)

-- name: list_runs
SELECT * FROM runs
WHERE environment = :environment
  AND (CAST(:statuses AS TEXT[]) IS NULL OR status = ANY(CAST(:statuses AS TEXT[])))
  AND (CAST(:task_ids AS TEXT[]) IS NULL OR task_id = ANY(CAST(:task_ids AS TEXT[])))
  AND (CAST(:tag AS TEXT) IS NULL OR id IN (SELECT run_id FROM run_tags WHERE tag = :tag))
  AND (CAST(:queue AS TEXT) IS NULL OR queue = :queue)
  AND (CAST(:created_after AS DOUBLE PRECISION) IS NULL OR created_at >= :created_after)
  AND (CAST(:created_before AS DOUBLE PRECISION) IS NULL OR created_at < :created_before)
  AND (CAST(:idempotency_key AS TEXT) IS NULL OR idempotency_key = :idempotency_key)
  AND (CAST(:batch_id AS TEXT) IS NULL OR batch_id = :batch_id)
  AND (CAST(:parent_run_id AS TEXT) IS NULL OR parent_run_id = :parent_run_id)
  AND (CAST(:cursor AS TEXT) IS NULL OR id < :cursor)
ORDER BY id DESC
LIMIT :limit

-- name: lock_waitpoint
SELECT * FROM waitpoints WHERE id = :id FOR UPDATE

-- name: due_waitpoints
SELECT id, kind FROM waitpoints
WHERE status = 'PENDING'
  AND ((complete_after IS NOT NULL AND complete_after <= :now)
       OR (timeout_at IS NOT NULL AND timeout_at <= :now))
LIMIT 1000
FOR UPDATE SKIP LOCKED

-- name: list_waitpoints
SELECT * FROM waitpoints
WHERE environment = :environment
  AND kind = ANY(CAST(:kinds AS TEXT[]))
  AND (CAST(:statuses AS TEXT[]) IS NULL OR status = ANY(CAST(:statuses AS TEXT[])))
  AND (CAST(:tag AS TEXT) IS NULL
       OR id IN (SELECT waitpoint_id FROM waitpoint_tags WHERE tag = :tag))
  AND (CAST(:idempotency_key AS TEXT) IS NULL OR idempotency_key = :idempotency_key)
  AND (CAST(:created_after AS DOUBLE PRECISION) IS NULL OR created_at >= :created_after)
  AND (CAST(:created_before AS DOUBLE PRECISION) IS NULL OR created_at < :created_before)
  AND (CAST(:created_by_run_id AS TEXT) IS NULL OR created_by_run_id = :created_by_run_id)
  AND (CAST(:cursor AS TEXT) IS NULL OR id < :cursor)
ORDER BY id DESC
LIMIT :limit


-- name: pending_child_waitpoints
-- The caller keeps pending waitpoints of finished runs: a status condition here made
-- plans without statistics scan every pending waitpoint.
SELECT w.id, w.status, r.id AS run_id, r.status AS run_status, r.output AS run_output,
       r.error AS run_error
FROM waitpoints w JOIN runs r ON r.id = w.child_run_id
WHERE w.child_run_id = ANY(CAST(:run_ids AS TEXT[]))

-- name: batches_of_runs
-- The caller locks each waitpoint and skips those no longer pending.
SELECT DISTINCT w.id, w.batch_id FROM runs r JOIN waitpoints w ON w.batch_id = r.batch_id
WHERE r.id = ANY(CAST(:run_ids AS TEXT[])) AND r.batch_id IS NOT NULL
  AND w.batch_id IS NOT NULL

-- name: runs_changed_by_id
SELECT * FROM runs
WHERE id = ANY(CAST(:run_ids AS TEXT[])) AND environment = :environment
  AND updated_at > :since

-- name: runs_changed_by_tag
SELECT r.*, t.tag AS matched_tag FROM run_tags t JOIN runs r ON r.id = t.run_id
WHERE t.tag = ANY(CAST(:tags AS TEXT[])) AND r.environment = :environment
  AND r.updated_at > :since
ORDER BY r.updated_at, r.id
LIMIT :limit

-- name: find_debounced
SELECT id, payload FROM runs
WHERE environment = :environment AND task_id = :task_id AND debounce_key = :debounce_key
  AND status = 'DELAYED'
FOR UPDATE

-- name: clear_blockers_bulk
DELETE FROM run_waitpoints WHERE run_id = ANY(CAST(:run_ids AS TEXT[]))

-- name: waitpoints_by_ids
SELECT * FROM waitpoints WHERE id = ANY(CAST(:ids AS TEXT[])) ORDER BY id

-- name: lock_waitpoints_by_ids
SELECT * FROM waitpoints WHERE id = ANY(CAST(:ids AS TEXT[])) ORDER BY id FOR UPDATE

-- name: lock_run_states
SELECT id, status, current_attempt_id FROM runs WHERE id = ANY(CAST(:ids AS TEXT[])) ORDER BY id
FOR UPDATE

-- name: lock_live_attempt
SELECT id FROM runs
WHERE id = :run_id AND current_attempt_id = :attempt_id AND status IN ('EXECUTING', 'WAITING')
FOR UPDATE

-- name: suspend_runs_bulk
UPDATE runs
SET status = 'WAITING', worker_id = NULL, lease_expires_at = NULL, updated_at = :now
WHERE id = ANY(CAST(:run_ids AS TEXT[]))
  AND current_attempt_id = ANY(CAST(:attempt_ids AS TEXT[]))
  AND status IN ('EXECUTING', 'WAITING')
RETURNING id

-- name: lock_waitpoints_skip_locked
SELECT * FROM waitpoints WHERE id = ANY(CAST(:ids AS TEXT[])) ORDER BY id
FOR UPDATE SKIP LOCKED

-- name: blockers_of
SELECT run_id, waitpoint_id FROM run_waitpoints WHERE waitpoint_id = ANY(CAST(:ids AS TEXT[]))

-- name: lock_runs_by_ids
SELECT * FROM runs WHERE id = ANY(CAST(:ids AS TEXT[])) ORDER BY id
FOR UPDATE

-- name: complete_locked_waitpoints
-- Rows the transaction has locked and checked, by primary key only: the plan must
-- not depend on statistics (a fresh database has none).
UPDATE waitpoints
SET status = :status, error = :error, completed_at = :now, updated_at = :now
WHERE id = ANY(CAST(:ids AS TEXT[]))

-- name: resume_locked_runs
UPDATE runs
SET status = 'EXECUTING', is_resuming = 0, worker_id = :worker_id,
    lease_expires_at = :lease_expires_at, updated_at = :now
WHERE id = ANY(CAST(:ids AS TEXT[]))

-- name: queue_locked_runs
UPDATE runs SET status = 'QUEUED', is_resuming = 1, updated_at = :now
WHERE id = ANY(CAST(:ids AS TEXT[]))

-- name: queued_head
SELECT order_key, id FROM runs
WHERE environment = :environment AND status = 'QUEUED'
  AND task_id = ANY(CAST(:task_ids AS TEXT[]))
  AND NOT (queue = ANY(CAST(:blocked AS TEXT[])))
ORDER BY order_key, id
LIMIT :limit

-- name: run_states
SELECT id, status, current_attempt_id, worker_id FROM runs
WHERE id = ANY(CAST(:ids AS TEXT[]))

-- ---------------------------------------------------------------------------------
-- Set-based versions (<name>_bulk) of statements run once per row: each parameter
-- is an array, one item per row (see queries.execute_many). Only inserts: an update
-- joined with unnest(...) got, as a generic plan (psycopg prepares statements run
-- often), a nested loop reading the whole unnest once per updated row.
-- ---------------------------------------------------------------------------------

-- name: insert_run_bulk
INSERT INTO runs (
    id, environment, task_id, queue, status, payload, tags, metadata, priority, order_key,
    created_at, queued_at, delay_until, expires_at, retry, max_duration, ttl,
    idempotency_key, idempotency_expires_at, concurrency_key, parent_run_id, root_run_id,
    batch_id, replayed_from, debounce_key, updated_at
)
SELECT id, environment, task_id, queue, status, payload, tags, metadata, priority, order_key,
       now, queued_at, delay_until, expires_at, retry, max_duration, ttl,
       idempotency_key, idempotency_expires_at, concurrency_key, parent_run_id, root_run_id,
       batch_id, replayed_from, debounce_key, now
FROM unnest(
    CAST(:id AS TEXT[]), CAST(:environment AS TEXT[]), CAST(:task_id AS TEXT[]),
    CAST(:queue AS TEXT[]), CAST(:status AS TEXT[]), CAST(:payload AS TEXT[]),
    CAST(:tags AS TEXT[]), CAST(:metadata AS TEXT[]), CAST(:priority AS DOUBLE PRECISION[]),
    CAST(:order_key AS DOUBLE PRECISION[]), CAST(:now AS DOUBLE PRECISION[]),
    CAST(:queued_at AS DOUBLE PRECISION[]), CAST(:delay_until AS DOUBLE PRECISION[]),
    CAST(:expires_at AS DOUBLE PRECISION[]), CAST(:retry AS TEXT[]),
    CAST(:max_duration AS DOUBLE PRECISION[]), CAST(:ttl AS DOUBLE PRECISION[]),
    CAST(:idempotency_key AS TEXT[]), CAST(:idempotency_expires_at AS DOUBLE PRECISION[]),
    CAST(:concurrency_key AS TEXT[]), CAST(:parent_run_id AS TEXT[]),
    CAST(:root_run_id AS TEXT[]), CAST(:batch_id AS TEXT[]), CAST(:replayed_from AS TEXT[]),
    CAST(:debounce_key AS TEXT[])
) AS u(id, environment, task_id, queue, status, payload, tags, metadata, priority, order_key,
       now, queued_at, delay_until, expires_at, retry, max_duration, ttl, idempotency_key,
       idempotency_expires_at, concurrency_key, parent_run_id, root_run_id, batch_id,
       replayed_from, debounce_key)
ON CONFLICT DO NOTHING

-- name: insert_tag_bulk
INSERT INTO run_tags (tag, run_id)
SELECT * FROM unnest(CAST(:tag AS TEXT[]), CAST(:run_id AS TEXT[]))
ON CONFLICT DO NOTHING

-- name: insert_attempt_bulk
INSERT INTO attempts (id, run_id, number, status, worker_id, started_at)
SELECT id, run_id, number, 'EXECUTING', worker_id, now
FROM unnest(
    CAST(:id AS TEXT[]), CAST(:run_id AS TEXT[]), CAST(:number AS INTEGER[]),
    CAST(:worker_id AS TEXT[]), CAST(:now AS DOUBLE PRECISION[])
) AS u(id, run_id, number, worker_id, now)

-- name: insert_waitpoint_bulk
INSERT INTO waitpoints (
    id, environment, kind, status, output, error, complete_after, timeout_at,
    idempotency_key, idempotency_expires_at, tags, child_run_id, batch_id,
    batch_total, created_by_run_id, created_at, completed_at, updated_at
)
SELECT id, environment, kind, status, output, error, complete_after, timeout_at,
       idempotency_key, idempotency_expires_at, tags, child_run_id, batch_id,
       batch_total, created_by_run_id, now, completed_at, now
FROM unnest(
    CAST(:id AS TEXT[]), CAST(:environment AS TEXT[]), CAST(:kind AS TEXT[]),
    CAST(:status AS TEXT[]), CAST(:output AS TEXT[]), CAST(:error AS TEXT[]),
    CAST(:complete_after AS DOUBLE PRECISION[]), CAST(:timeout_at AS DOUBLE PRECISION[]),
    CAST(:idempotency_key AS TEXT[]), CAST(:idempotency_expires_at AS DOUBLE PRECISION[]),
    CAST(:tags AS TEXT[]), CAST(:child_run_id AS TEXT[]), CAST(:batch_id AS TEXT[]),
    CAST(:batch_total AS INTEGER[]), CAST(:created_by_run_id AS TEXT[]),
    CAST(:now AS DOUBLE PRECISION[]), CAST(:completed_at AS DOUBLE PRECISION[])
) AS u(id, environment, kind, status, output, error, complete_after, timeout_at,
       idempotency_key, idempotency_expires_at, tags, child_run_id, batch_id, batch_total,
       created_by_run_id, now, completed_at)
ON CONFLICT (environment, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING

-- name: insert_waitpoint_tag_bulk
INSERT INTO waitpoint_tags (tag, waitpoint_id)
SELECT * FROM unnest(CAST(:tag AS TEXT[]), CAST(:waitpoint_id AS TEXT[]))
ON CONFLICT DO NOTHING

-- name: insert_journal_bulk
INSERT INTO journal (run_id, attempt_number, position, kind, name, waitpoint_id, result, created_at)
SELECT * FROM unnest(
    CAST(:run_id AS TEXT[]), CAST(:attempt_number AS INTEGER[]), CAST(:position AS INTEGER[]),
    CAST(:kind AS TEXT[]), CAST(:name AS TEXT[]), CAST(:waitpoint_id AS TEXT[]),
    CAST(:result AS TEXT[]), CAST(:now AS DOUBLE PRECISION[])
)

-- name: insert_blocker_bulk
INSERT INTO run_waitpoints (run_id, waitpoint_id, created_at)
SELECT * FROM unnest(
    CAST(:run_id AS TEXT[]), CAST(:waitpoint_id AS TEXT[]), CAST(:now AS DOUBLE PRECISION[])
)
ON CONFLICT DO NOTHING

-- name: mark_claimed_many
-- The claim locked these QUEUED rows (FOR UPDATE) in this transaction. Rows are found
-- by key alone, so the plan does not depend on statistics (a fresh database has none,
-- and then a status condition looked selective enough to scan every queued run).
UPDATE runs
SET status = 'EXECUTING', attempt_count = attempt_count + 1,
    current_attempt_id =
        (CAST(:attempt_ids AS TEXT[]))[array_position(CAST(:ids AS TEXT[]), id)],
    worker_id = :worker_id, lease_expires_at = :lease_expires_at,
    started_at = COALESCE(started_at, :now), expires_at = NULL, debounce_key = NULL,
    updated_at = :now
WHERE id = ANY(CAST(:ids AS TEXT[]))

-- name: reassign_resumed_attempts
-- A resumed run keeps its attempt: the attempt now runs on the worker that took it back.
UPDATE attempts SET worker_id = :worker_id
WHERE id IN (SELECT current_attempt_id FROM runs WHERE id = ANY(CAST(:ids AS TEXT[])))

-- name: mark_resumed_many
-- The claim locked these QUEUED rows (FOR UPDATE) in this transaction.
UPDATE runs
SET status = 'EXECUTING', is_resuming = 0, worker_id = :worker_id,
    lease_expires_at = :lease_expires_at, updated_at = :now
WHERE id = ANY(CAST(:ids AS TEXT[]))

-- name: finish_run_many
-- finish_run for runs that end the same way (see queries.execute_grouped). Matching
-- any of the attempts is matching each run's own: an attempt belongs to one run.
UPDATE runs
SET status = :status, output = :output, error = :error, finished_at = :finished_at,
    delay_until = :retry_at, worker_id = NULL, lease_expires_at = NULL, updated_at = :now
WHERE id = ANY(CAST(:run_ids AS TEXT[])) AND current_attempt_id = ANY(CAST(:attempt_ids AS TEXT[]))
  AND status = 'EXECUTING'

-- name: finish_attempt_many
UPDATE attempts SET status = :attempt_status, finished_at = :now, error = :error
WHERE id = ANY(CAST(:attempt_ids AS TEXT[])) AND status = 'EXECUTING'
