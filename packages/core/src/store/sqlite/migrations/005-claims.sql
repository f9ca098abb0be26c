-- Fenced job claims. Each claim of a change's job takes the next number of changes.claims as its token,
-- stored on the job while the claim holds it: the counter lives on the change, so a token is never
-- handed out twice for one change, even when its job is replaced (approval) or deleted and re-created (retry).
ALTER TABLE changes ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN claim_token INTEGER;
