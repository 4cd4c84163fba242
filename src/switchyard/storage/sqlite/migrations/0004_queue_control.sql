-- Queue control: per-key running counts and queue statistics read these indexes.

CREATE INDEX runs_executing_keys ON runs (environment, queue, concurrency_key)
    WHERE status = 'EXECUTING';
CREATE INDEX runs_queue_status ON runs (environment, queue, status);
CREATE INDEX attempts_started ON attempts (started_at);
-- Fair dequeue walks the distinct concurrency keys of queued runs (a skip scan).
CREATE INDEX runs_queued_keys ON runs (environment, concurrency_key, order_key)
    WHERE status = 'QUEUED' AND concurrency_key IS NOT NULL;
