-- Change sets (`plinth apply -f`): several ordinary changes submitted and reviewed as one. A member carries its set
-- and its dependency order; the claim holds a member's apply until the set's members of a lower order succeeded.
ALTER TABLE changes ADD COLUMN change_set_id TEXT;
ALTER TABLE changes ADD COLUMN change_set_order INTEGER NOT NULL DEFAULT 0;
CREATE INDEX changes_change_set ON changes (change_set_id, change_set_order) WHERE change_set_id IS NOT NULL;
CREATE TABLE change_sets (
  id TEXT PRIMARY KEY,
  requested_by TEXT NOT NULL,
  request_id TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL
);
-- One set per (requester, request id): a replay finds it instead of submitting another.
CREATE UNIQUE INDEX change_sets_request ON change_sets (requested_by, request_id);
-- Plans (`plinth plan`): what each entry would do, against which base, kept until expires_at for a submit by plan id.
CREATE TABLE change_set_plans (
  id TEXT PRIMARY KEY,
  planned_by TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
