-- Which replica observes a reconcile scope (a plugin type and cluster, say) in which round: one row per scope, the latest round.
CREATE TABLE reconcile_claims (
  scope_key text NOT NULL,
  round bigint NOT NULL,
  owner text NOT NULL,
  claimed_at text NOT NULL,
  PRIMARY KEY (scope_key, round)
);
