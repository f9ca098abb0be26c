-- Notifications: webhook subscriptions made through the API, the outbox of deliveries (written in the
-- same transaction as the change they announce), each delivery's attempts, and review reminder timers.
CREATE TABLE subscriptions (
  id TEXT PRIMARY KEY,
  owner_team TEXT NOT NULL,
  created_by TEXT NOT NULL,
  url TEXT NOT NULL,
  format TEXT NOT NULL,
  sealed_secret TEXT,
  teams TEXT NOT NULL DEFAULT '[]',
  types TEXT NOT NULL DEFAULT '[]',
  kinds TEXT NOT NULL DEFAULT '[]',
  change_id TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX subscriptions_change ON subscriptions (change_id);
CREATE INDEX subscriptions_owner ON subscriptions (owner_team);

CREATE TABLE deliveries (
  id TEXT PRIMARY KEY,
  event_id TEXT NOT NULL,
  subscription_id TEXT NOT NULL,
  change_id TEXT,
  kind TEXT NOT NULL,
  event TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  last_error TEXT,
  last_status_code INTEGER,
  created_at TEXT NOT NULL,
  delivered_at TEXT
);
-- The delivery loop's query: pending ones, earliest due first.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX deliveries_change ON deliveries (change_id, created_at);
CREATE INDEX deliveries_subscription ON deliveries (subscription_id, created_at);

CREATE TABLE delivery_attempts (
  delivery_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  time TEXT NOT NULL,
  status_code INTEGER,
  error TEXT,
  duration_ms INTEGER NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);

CREATE TABLE review_timers (
  change_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  PRIMARY KEY (change_id, kind)
);
CREATE INDEX review_timers_due ON review_timers (due_at);
