-- Plinth's schema on PostgreSQL: the same tables and keys as the SQLite store's migrations 001-004.
-- Times are ISO-8601 text, as in the records; JSON columns are `json`, which keeps the text as written
-- (jsonb would reorder keys). Epoch-millisecond columns are bigint.
-- Resources are listed in (type, name) order with the page token compared in SQL: "C" (byte order) makes
-- that order the same on every database, whatever its default collation, and the same as SQLite's.
CREATE TABLE resources (
  type text COLLATE "C" NOT NULL,
  name text COLLATE "C" NOT NULL,
  identity text NOT NULL,
  owner_team text NOT NULL,
  status text NOT NULL,
  revision integer NOT NULL DEFAULT 0,
  spec json,
  resolved_spec json,
  outputs json NOT NULL DEFAULT '{}',
  secret_outputs text,
  secret_output_keys json NOT NULL DEFAULT '[]',
  labels json NOT NULL DEFAULT '{}',
  created_at text NOT NULL,
  updated_at text NOT NULL,
  drift json,
  PRIMARY KEY (type, name)
);
-- Two live resources of one type may not share an identity (e.g. a.b and a_b on one Kafka cluster).
CREATE UNIQUE INDEX resources_identity ON resources (type, identity) WHERE status <> 'DELETED';
CREATE INDEX resources_team ON resources (owner_team);

CREATE TABLE changes (
  id text PRIMARY KEY,
  -- Assigned as max + 1 inside a serializable transaction, so that seq order is commit order:
  -- a worker never sees a change while an earlier one to the same resource is still uncommitted.
  seq bigint NOT NULL UNIQUE,
  type text NOT NULL,
  name text NOT NULL,
  kind text NOT NULL,
  status text NOT NULL,
  requested_by text NOT NULL,
  team text NOT NULL,
  spec json,
  resolved_spec json,
  explanations json NOT NULL DEFAULT '{}',
  base_revision integer NOT NULL,
  required_approvals integer NOT NULL,
  review_reasons json NOT NULL DEFAULT '[]',
  reviews json NOT NULL DEFAULT '[]',
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  comment text NOT NULL DEFAULT '',
  labels json NOT NULL DEFAULT '{}',
  created_at text NOT NULL,
  updated_at text NOT NULL,
  finished_at text,
  result_revision integer,
  preview json
);
CREATE INDEX changes_resource ON changes (type, name, seq);
CREATE INDEX changes_status ON changes (status, seq);
CREATE INDEX changes_team ON changes (team, seq);

CREATE TABLE change_events (
  change_id text NOT NULL REFERENCES changes (id),
  sequence integer NOT NULL,
  time text NOT NULL,
  status text,
  kind text NOT NULL,
  message text NOT NULL,
  details json,
  PRIMARY KEY (change_id, sequence)
);

CREATE TABLE revisions (
  type text NOT NULL,
  name text NOT NULL,
  revision integer NOT NULL,
  change_id text NOT NULL REFERENCES changes (id),
  spec json,
  resolved_spec json,
  outputs json NOT NULL,
  requested_by text NOT NULL,
  approved_by json NOT NULL,
  created_at text NOT NULL,
  deleted integer NOT NULL DEFAULT 0,
  PRIMARY KEY (type, name, revision)
);

-- The primary key is what makes replays of one request give one change across replicas.
CREATE TABLE idempotency_keys (
  principal text NOT NULL,
  request_id text NOT NULL,
  request_hash text NOT NULL,
  change_id text,
  created_at text NOT NULL,
  PRIMARY KEY (principal, request_id)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE jobs (
  change_id text PRIMARY KEY REFERENCES changes (id),
  type text NOT NULL,
  name text NOT NULL,
  seq bigint NOT NULL,
  run_after bigint NOT NULL,
  lease_owner text,
  lease_expires_at bigint,
  phase text NOT NULL DEFAULT 'apply',
  -- Fencing: each claim sets claim_token to claims + 1.
  claim_token bigint,
  claims bigint NOT NULL DEFAULT 0
);
CREATE INDEX jobs_seq ON jobs (seq);

CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time text NOT NULL,
  principal text NOT NULL,
  action text NOT NULL,
  target text NOT NULL,
  details json NOT NULL
);
