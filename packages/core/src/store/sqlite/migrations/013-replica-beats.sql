-- Each server process beats here (StoreTx.beatReplica), in ms of the store's lease clock. A SQLite store belongs to
-- one process, so only its own rows are ever here; the table keeps the store contract alike on both stores.
CREATE TABLE replica_beats (
  replica TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  beat_at INTEGER NOT NULL
);
CREATE INDEX replica_beats_host ON replica_beats (host);
