import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";

const migrationsDir = join(import.meta.dirname, "migrations");

/**
 * Applies the numbered SQL files in migrations/ that this database has not
 * seen, each in its own transaction, in order. Safe to run at every start.
 */
export function migrate(db: Database.Database): string[] {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)");
  const applied = new Set(
    db
      .prepare<[], { name: string }>("SELECT name FROM schema_migrations")
      .all()
      .map((row) => row.name),
  );
  const pending = readdirSync(migrationsDir)
    .filter((file) => /^\d{3}-.+\.sql$/.test(file) && !applied.has(file))
    .sort();
  for (const file of pending) {
    const sql = readFileSync(join(migrationsDir, file), "utf8");
    db.transaction(() => {
      db.exec(sql);
      db.prepare("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)").run(file, new Date().toISOString());
    }).immediate();
  }
  return pending;
}
