-- Claims take the oldest due job. Walking jobs in seq order and skipping the few that are not due
-- beats sorting every due job (the planner picked (run_after, seq) plus a temporary sort before).
DROP INDEX jobs_due;
CREATE INDEX jobs_seq ON jobs (seq);
