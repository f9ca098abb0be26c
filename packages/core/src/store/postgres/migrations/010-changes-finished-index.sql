-- ListChanges' finished_after (the console's chart of the last day's changes): without it, every SUCCEEDED change
-- ever made is read to find one day's.
CREATE INDEX changes_finished ON changes (finished_at);
