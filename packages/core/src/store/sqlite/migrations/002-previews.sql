-- Engine previews shown to reviewers, and jobs that only preview.
ALTER TABLE changes ADD COLUMN preview TEXT;
ALTER TABLE jobs ADD COLUMN phase TEXT NOT NULL DEFAULT 'apply';
