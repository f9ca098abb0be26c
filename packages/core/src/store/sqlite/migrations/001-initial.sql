-- Plinth's first schema. JSON columns hold UTF-8 JSON text.
CREATE TABLE resources (
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  identity TEXT NOT NULL,
  owner_team TEXT NOT NULL,
  status TEXT NOT NULL,
  revision INTEGER NOT NULL DEFAULT 0,
  spec TEXT,
  resolved_spec TEXT,
  outputs TEXT NOT NULL DEFAULT '{}',
  secret_outputs TEXT,
  secret_output_keys TEXT NOT NULL DEFAULT '[]',
  labels TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (type, name)
);
-- Two live resources of one type may not share an identity (e.g. a.b and a_b on one Kafka cluster).
CREATE UNIQUE INDEX resources_identity ON resources (type, identity) WHERE status <> 'DELETED';
CREATE INDEX resources_team ON resources (owner_team);

CREATE TABLE changes (
  id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  team TEXT NOT NULL,
  spec TEXT,
  resolved_spec TEXT,
  explanations TEXT NOT NULL DEFAULT '{}',
  base_revision INTEGER NOT NULL,
  required_approvals INTEGER NOT NULL,
  review_reasons TEXT NOT NULL DEFAULT '[]',
  reviews TEXT NOT NULL DEFAULT '[]',
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  comment TEXT NOT NULL DEFAULT '',
  labels TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  finished_at TEXT,
  result_revision INTEGER
);
CREATE INDEX changes_resource ON changes (type, name, seq);
CREATE INDEX changes_status ON changes (status, seq);
CREATE INDEX changes_team ON changes (team, seq);

CREATE TABLE change_events (
  change_id TEXT NOT NULL REFERENCES changes (id),
  sequence INTEGER NOT NULL,
  time TEXT NOT NULL,
  status TEXT,
  kind TEXT NOT NULL,
  message TEXT NOT NULL,
  details TEXT,
  PRIMARY KEY (change_id, sequence)
);

CREATE TABLE revisions (
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  revision INTEGER NOT NULL,
  change_id TEXT NOT NULL REFERENCES changes (id),
  spec TEXT,
  resolved_spec TEXT,
  outputs TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  approved_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (type, name, revision)
);

CREATE TABLE idempotency_keys (
  principal TEXT NOT NULL,
  request_id TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  change_id TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (principal, request_id)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE jobs (
  change_id TEXT PRIMARY KEY REFERENCES changes (id),
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  seq INTEGER NOT NULL,
  run_after INTEGER NOT NULL,
  lease_owner TEXT,
  lease_expires_at INTEGER
);
CREATE INDEX jobs_due ON jobs (run_after, seq);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time TEXT NOT NULL,
  principal TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  details TEXT NOT NULL
);
