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
SELECT w.id, r.id AS run_id, r.status AS run_status, r.output AS run_output, r.error AS run_error
FROM waitpoints w JOIN runs r ON r.id = w.child_run_id
WHERE w.child_run_id = ANY(CAST(:run_ids AS TEXT[])) AND w.status = 'PENDING'
  AND r.status IN ('COMPLETED', 'FAILED', 'CANCELED', 'CRASHED', 'EXPIRED', 'TIMED_OUT',
                   'SYSTEM_FAILURE')

-- name: batches_of_runs
SELECT DISTINCT w.id, w.batch_id FROM runs r JOIN waitpoints w ON w.batch_id = r.batch_id
WHERE r.id = ANY(CAST(:run_ids AS TEXT[])) AND w.status = 'PENDING'

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

-- name: complete_waitpoints_bulk
UPDATE waitpoints
SET status = :status, error = :error, completed_at = :now, updated_at = :now
WHERE id = ANY(CAST(:ids AS TEXT[])) AND status = 'PENDING'

-- name: unblock_runs_bulk
UPDATE runs SET status = 'QUEUED', is_resuming = 1, updated_at = :now
WHERE status = 'WAITING'
  AND id IN (SELECT run_id FROM run_waitpoints WHERE waitpoint_id = ANY(CAST(:ids AS TEXT[])))
RETURNING id

-- name: clear_blockers_bulk
DELETE FROM run_waitpoints WHERE run_id = ANY(CAST(:run_ids AS TEXT[]))

-- name: waitpoints_by_ids
SELECT * FROM waitpoints WHERE id = ANY(CAST(:ids AS TEXT[])) ORDER BY id

-- name: lock_waitpoints_by_ids
SELECT * FROM waitpoints WHERE id = ANY(CAST(:ids AS TEXT[])) ORDER BY id FOR UPDATE

-- name: suspend_runs_bulk
UPDATE runs
SET status = 'WAITING', worker_id = NULL, lease_expires_at = NULL, updated_at = :now
WHERE id = ANY(CAST(:run_ids AS TEXT[]))
  AND current_attempt_id = ANY(CAST(:attempt_ids AS TEXT[]))
  AND status IN ('EXECUTING', 'WAITING')
RETURNING id
