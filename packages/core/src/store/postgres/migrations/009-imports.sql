-- Bulk imports (`plinth import`): what a cluster held that Plinth did not manage, with the owners the operator's
-- rules gave it, waiting for one review. `body` is the plan as JSON (items with their observed specs, what was
-- skipped and why, the reviews); approving it records every item as a managed resource in one transaction.
CREATE TABLE imports (
  id TEXT PRIMARY KEY,
  requested_by TEXT NOT NULL,
  request_id TEXT NOT NULL,
  type TEXT NOT NULL,
  scope TEXT NOT NULL,
  status TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
-- One import per (requester, request id): sending the same request again finds it instead of planning another.
CREATE UNIQUE INDEX imports_request ON imports (requested_by, request_id);
