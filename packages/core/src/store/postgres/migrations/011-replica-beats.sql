-- Each server process beats here, on the database's clock (StoreTx.beatReplica): a stack lock taken on another
-- host is cleared only once every replica of that host that could have taken it has been silent for longer than
-- its engine children take to stop their Pulumi CLI (see clear-stack-lock.ts).
CREATE TABLE replica_beats (
  replica text PRIMARY KEY,
  host text NOT NULL,
  pid integer NOT NULL,
  started_at timestamptz NOT NULL,
  beat_at timestamptz NOT NULL
);
CREATE INDEX replica_beats_host ON replica_beats (host);
