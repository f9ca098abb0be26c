-- Which replica observes a reconcile scope (a plugin type and cluster, say) in which round: one row per scope, the latest round.
CREATE TABLE reconcile_claims (
  scope_key TEXT NOT NULL,
  round INTEGER NOT NULL,
  owner TEXT NOT NULL,
  claimed_at TEXT NOT NULL,
  PRIMARY KEY (scope_key, round)
);
