-- Steps recorded once per run: a later attempt of the run (a retry, or the next
-- attempt after a worker died mid-run) returns a step's result from here instead of
-- running its function again. step_key is "name#n", the n-th call of step(name) in
-- an execution. (Per-attempt steps stay in the journal only.)

CREATE TABLE run_steps (
    run_id         TEXT NOT NULL,
    step_key       TEXT NOT NULL,
    attempt_number INTEGER NOT NULL,
    result         TEXT NOT NULL,
    created_at     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, step_key)
);
