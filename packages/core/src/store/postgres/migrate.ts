import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";

const migrationsDir = join(import.meta.dirname, "migrations");

/** Key of the session advisory lock held while migrating: any constant that other software is unlikely to take. */
const migrationLock = 0x706c696e7468; // "plinth"

/** The numbered SQL files this build knows, in order. */
export function knownMigrations(): string[] {
  return readdirSync(migrationsDir)
    .filter((file) => /^\d{3}-.+\.sql$/.test(file))
    .sort();
}

export interface MigrationOutcome {
  /** Files this call applied (empty when another replica already had). */
  applied: string[];
  /** Files the database has that this build does not know: a newer Plinth migrated it. */
  unknown: string[];
}

/**
 * Applies the numbered SQL files in migrations/ that this database has not
 * seen, each in its own transaction, in order. Replicas starting together
 * queue on an advisory lock, so only the first migrates and the others find
 * nothing left to do.
 */
export async function migrate(client: pg.ClientBase): Promise<MigrationOutcome> {
  await client.query("SELECT pg_advisory_lock($1)", [migrationLock]);
  try {
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const { rows } = await client.query<{ name: string }>("SELECT name FROM schema_migrations");
    const done = new Set(rows.map((row) => row.name));
    const known = knownMigrations();
    const pending = known.filter((file) => !done.has(file));
    for (const file of pending) {
      const sql = readFileSync(join(migrationsDir, file), "utf8");
      await client.query("BEGIN");
      try {
        await client.query(sql);
        await client.query("INSERT INTO schema_migrations (name) VALUES ($1)", [file]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new Error(`migration ${file} failed: ${(error as Error).message}`, { cause: error });
      }
    }
    return { applied: pending, unknown: [...done].filter((name) => !known.includes(name)).sort() };
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [migrationLock]);
  }
}
