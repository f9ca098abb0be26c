-- What a change asks of teams other than the resource's owner (cross-team grants, ownership transfers).
ALTER TABLE changes ADD COLUMN access_requests json NOT NULL DEFAULT '[]';
