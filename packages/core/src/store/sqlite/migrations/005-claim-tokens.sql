-- Fencing: each claim of a job sets claim_token to claims + 1; a worker holding an older token has lost it.
ALTER TABLE jobs ADD COLUMN claim_token INTEGER;
ALTER TABLE jobs ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;
