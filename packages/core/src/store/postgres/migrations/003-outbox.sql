-- Notifications, as the SQLite store's 006-outbox.sql: webhook subscriptions made through the API, the
-- outbox of deliveries (written in the same transaction as the change they announce), each delivery's
-- attempts, and review reminder timers. Ids are "C" (byte order) so that ties on created_at sort the same
-- as on SQLite. Epoch-millisecond columns are bigint; JSON columns `json`, which keeps the text as written.
CREATE TABLE subscriptions (
  id text COLLATE "C" PRIMARY KEY,
  owner_team text NOT NULL,
  created_by text NOT NULL,
  url text NOT NULL,
  format text NOT NULL,
  sealed_secret text,
  teams json NOT NULL DEFAULT '[]',
  types json NOT NULL DEFAULT '[]',
  kinds json NOT NULL DEFAULT '[]',
  change_id text,
  created_at text COLLATE "C" NOT NULL
);
CREATE INDEX subscriptions_change ON subscriptions (change_id);
CREATE INDEX subscriptions_owner ON subscriptions (owner_team);

CREATE TABLE deliveries (
  id text COLLATE "C" PRIMARY KEY,
  event_id text NOT NULL,
  subscription_id text NOT NULL,
  change_id text,
  kind text NOT NULL,
  event json NOT NULL,
  status text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  last_error text,
  last_status_code integer,
  created_at text COLLATE "C" NOT NULL,
  delivered_at text
);
-- The delivery loop's query: pending ones, earliest due first.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX deliveries_change ON deliveries (change_id, created_at);
CREATE INDEX deliveries_subscription ON deliveries (subscription_id, created_at);

CREATE TABLE delivery_attempts (
  delivery_id text NOT NULL,
  attempt integer NOT NULL,
  time text NOT NULL,
  status_code integer,
  error text,
  duration_ms integer NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);

CREATE TABLE review_timers (
  change_id text NOT NULL,
  kind text NOT NULL,
  due_at bigint NOT NULL,
  PRIMARY KEY (change_id, kind)
);
CREATE INDEX review_timers_due ON review_timers (due_at);
