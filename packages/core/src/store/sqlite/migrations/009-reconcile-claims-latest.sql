-- One row per scope holding the latest round claimed. With a row per round and older rounds deleted, a replica
-- that started a round late could claim a round another replica had already observed, once its row was gone.
DROP TABLE reconcile_claims;
CREATE TABLE reconcile_claims (
  scope_key TEXT PRIMARY KEY,
  round INTEGER NOT NULL,
  owner TEXT NOT NULL,
  claimed_at TEXT NOT NULL
);
