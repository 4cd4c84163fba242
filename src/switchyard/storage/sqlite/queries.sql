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
SELECT w.id, r.id AS run_id, r.status AS run_status, r.output AS run_output, r.error AS run_error
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

-- name: complete_waitpoints_bulk
UPDATE waitpoints
SET status = :status, error = :error, completed_at = :now, updated_at = :now
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'PENDING'

-- name: unblock_runs_bulk
UPDATE runs SET status = 'QUEUED', is_resuming = 1, updated_at = :now
WHERE status = 'WAITING'
  AND id IN (SELECT run_id FROM run_waitpoints
             WHERE waitpoint_id IN (SELECT value FROM json_each(:ids)))
RETURNING id

-- name: clear_blockers_bulk
DELETE FROM run_waitpoints WHERE run_id IN (SELECT value FROM json_each(:run_ids))

-- name: waitpoints_by_ids
SELECT * FROM waitpoints WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id

-- name: lock_waitpoints_by_ids
SELECT * FROM waitpoints WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id

-- name: suspend_runs_bulk
UPDATE runs
SET status = 'WAITING', worker_id = NULL, lease_expires_at = NULL, updated_at = :now
WHERE id IN (SELECT value FROM json_each(:run_ids))
  AND current_attempt_id IN (SELECT value FROM json_each(:attempt_ids))
  AND status IN ('EXECUTING', 'WAITING')
RETURNING id
