-- SQLite versions of the statements that take lists (passed as JSON arrays).

-- name: claim_candidates
SELECT * FROM runs
WHERE environment = :environment AND status = 'QUEUED'
  AND task_id IN (SELECT value FROM json_each(:task_ids))
  AND queue NOT IN (SELECT value FROM json_each(:blocked))
ORDER BY order_key, id
LIMIT :limit

-- name: key_candidates
SELECT * FROM runs
WHERE environment = :environment AND status = 'QUEUED' AND concurrency_key = :key
  AND task_id IN (SELECT value FROM json_each(:task_ids))
  AND queue NOT IN (SELECT value FROM json_each(:blocked))
ORDER BY order_key, id
LIMIT :limit

-- name: unkeyed_candidates
SELECT * FROM runs
WHERE environment = :environment AND status = 'QUEUED' AND concurrency_key IS NULL
  AND task_id IN (SELECT value FROM json_each(:task_ids))
  AND queue NOT IN (SELECT value FROM json_each(:blocked))
ORDER BY order_key, id
LIMIT :limit

-- name: list_runs
SELECT * FROM runs
WHERE environment = :environment
  AND (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)))
  AND (:task_ids IS NULL OR task_id IN (SELECT value FROM json_each(:task_ids)))
  AND (:tag IS NULL OR id IN (SELECT run_id FROM run_tags WHERE tag = :tag))
  AND (:queue IS NULL OR queue = :queue)
  AND (:created_after IS NULL OR created_at >= :created_after)
  AND (:created_before IS NULL OR created_at < :created_before)
  AND (:idempotency_key IS NULL OR idempotency_key = :idempotency_key)
  AND (:batch_id IS NULL OR batch_id = :batch_id)
  AND (:parent_run_id IS NULL OR parent_run_id = :parent_run_id)
  AND (:cursor IS NULL OR id < :cursor)
ORDER BY id DESC
LIMIT :limit

-- name: list_waitpoints
SELECT * FROM waitpoints
WHERE environment = :environment
  AND kind IN (SELECT value FROM json_each(:kinds))
  AND (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)))
  AND (:tag IS NULL OR id IN (SELECT waitpoint_id FROM waitpoint_tags WHERE tag = :tag))
  AND (:idempotency_key IS NULL OR idempotency_key = :idempotency_key)
  AND (:created_after IS NULL OR created_at >= :created_after)
  AND (:created_before IS NULL OR created_at < :created_before)
  AND (:created_by_run_id IS NULL OR created_by_run_id = :created_by_run_id)
  AND (:cursor IS NULL OR id < :cursor)
ORDER BY id DESC
LIMIT :limit


-- name: pending_child_waitpoints
SELECT w.id, w.status, r.id AS run_id, r.status AS run_status, r.output AS run_output,
       r.error AS run_error
FROM waitpoints w JOIN runs r ON r.id = w.child_run_id
WHERE w.child_run_id IN (SELECT value FROM json_each(:run_ids)) AND w.status = 'PENDING'
  AND r.status IN ('COMPLETED', 'FAILED', 'CANCELED', 'CRASHED', 'EXPIRED', 'TIMED_OUT',
                   'SYSTEM_FAILURE')

-- name: batches_of_runs
SELECT DISTINCT w.id, w.batch_id FROM runs r JOIN waitpoints w ON w.batch_id = r.batch_id
WHERE r.id IN (SELECT value FROM json_each(:run_ids)) AND w.status = 'PENDING'

-- name: runs_changed_by_id
SELECT * FROM runs
WHERE id IN (SELECT value FROM json_each(:run_ids)) AND environment = :environment
  AND updated_at > :since

-- name: runs_changed_by_tag
SELECT r.*, t.tag AS matched_tag FROM run_tags t JOIN runs r ON r.id = t.run_id
WHERE t.tag IN (SELECT value FROM json_each(:tags)) AND r.environment = :environment
  AND r.updated_at > :since
ORDER BY r.updated_at, r.id
LIMIT :limit

-- name: clear_blockers_bulk
DELETE FROM run_waitpoints WHERE run_id IN (SELECT value FROM json_each(:run_ids))

-- name: waitpoints_by_ids
SELECT * FROM waitpoints WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id

-- name: lock_waitpoints_by_ids
SELECT * FROM waitpoints WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id

-- name: lock_run_states
SELECT id, status, current_attempt_id FROM runs
WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id

-- name: suspend_runs_bulk
UPDATE runs
SET status = 'WAITING', worker_id = NULL, lease_expires_at = NULL, updated_at = :now
WHERE id IN (SELECT value FROM json_each(:run_ids))
  AND current_attempt_id IN (SELECT value FROM json_each(:attempt_ids))
  AND status IN ('EXECUTING', 'WAITING')
RETURNING id

-- name: lock_waitpoints_skip_locked
SELECT * FROM waitpoints WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id

-- name: blockers_of
SELECT run_id, waitpoint_id FROM run_waitpoints
WHERE waitpoint_id IN (SELECT value FROM json_each(:ids))

-- name: lock_runs_by_ids
SELECT * FROM runs WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id

-- name: complete_locked_waitpoints
-- Rows the transaction has locked and checked, by primary key only: the plan must
-- not depend on statistics (a fresh database has none).
UPDATE waitpoints
SET status = :status, error = :error, completed_at = :now, updated_at = :now
WHERE id IN (SELECT value FROM json_each(:ids))

-- name: resume_locked_runs
UPDATE runs
SET status = 'EXECUTING', is_resuming = 0, worker_id = :worker_id,
    lease_expires_at = :lease_expires_at, updated_at = :now
WHERE id IN (SELECT value FROM json_each(:ids))

-- name: queue_locked_runs
UPDATE runs SET status = 'QUEUED', is_resuming = 1, updated_at = :now
WHERE id IN (SELECT value FROM json_each(:ids))

-- name: queued_head
SELECT order_key, id FROM runs
WHERE environment = :environment AND status = 'QUEUED'
  AND task_id IN (SELECT value FROM json_each(:task_ids))
  AND queue NOT IN (SELECT value FROM json_each(:blocked))
ORDER BY order_key, id
LIMIT :limit

-- name: run_states
SELECT id, status, current_attempt_id, worker_id FROM runs
WHERE id IN (SELECT value FROM json_each(:ids))

-- name: reassign_resumed_attempts
-- A resumed run keeps its attempt: the attempt now runs on the worker that took it back.
UPDATE attempts SET worker_id = :worker_id
WHERE id IN (SELECT current_attempt_id FROM runs WHERE id IN (SELECT value FROM json_each(:ids)))

-- name: mark_resumed_many
-- The claim's transaction holds the write lock: these rows are still QUEUED.
UPDATE runs
SET status = 'EXECUTING', is_resuming = 0, worker_id = :worker_id,
    lease_expires_at = :lease_expires_at, updated_at = :now
WHERE id IN (SELECT value FROM json_each(:ids))

-- name: finish_run_many
-- finish_run for runs that end the same way (see queries.execute_grouped). Matching
-- any of the attempts is matching each run's own: an attempt belongs to one run.
UPDATE runs
SET status = :status, output = :output, error = :error, finished_at = :finished_at,
    delay_until = :retry_at, worker_id = NULL, lease_expires_at = NULL, updated_at = :now
WHERE id IN (SELECT value FROM json_each(:run_ids)) AND current_attempt_id IN (SELECT value FROM json_each(:attempt_ids))
  AND status = 'EXECUTING'

-- name: finish_attempt_many
UPDATE attempts SET status = :attempt_status, finished_at = :now, error = :error
WHERE id IN (SELECT value FROM json_each(:attempt_ids)) AND status = 'EXECUTING'
