-- SQLite versions of the statements that take lists (passed as JSON arrays).

-- name: claim_candidates
SELECT * FROM runs
WHERE environment = :environment AND status = 'QUEUED'
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
