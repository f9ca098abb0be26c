-- What the last reconcile found when a resource drifted from its recorded revision.
ALTER TABLE resources ADD COLUMN drift TEXT;
