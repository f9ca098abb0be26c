-- Fenced job claims as the SQLite store keeps them (its 005-claims.sql): the claim counter lives on the
-- change, so a token is never handed out twice for one change, even when its job is deleted and re-created
-- (a retry), not only when the row is replaced. The job keeps the token of the claim that holds it.
ALTER TABLE changes ADD COLUMN claims bigint NOT NULL DEFAULT 0;
UPDATE changes SET claims = jobs.claims FROM jobs WHERE jobs.change_id = changes.id;
ALTER TABLE jobs DROP COLUMN claims;
