-- The admins' deny list: every request of a principal named here is refused, on every replica, until its row is gone.
CREATE TABLE denied_principals (
  principal TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  denied_by TEXT NOT NULL,
  denied_at TEXT NOT NULL
);
