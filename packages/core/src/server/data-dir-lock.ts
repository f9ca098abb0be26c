import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";

/** Another Plinth process holds the data directory. */
export class DataDirInUseError extends Error {
  override name = "DataDirInUseError";
}

export interface DataDirLock {
  release(): void;
}

/**
 * Takes the data directory for this process alone, until `release` or exit.
 *
 * The lock is SQLite's own exclusive lock on `<dataDir>/plinth.lock` (a POSIX
 * advisory lock that the kernel drops when the process dies, however it
 * dies), so a crashed server never leaves a lock behind and no pid has to be
 * trusted. Two servers on one directory would both run Pulumi on the same
 * stacks and both claim the same jobs with their own clocks.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, "plinth.lock");
  const db = new Database(path, { timeout: 0 });
  try {
    // In exclusive locking mode the first write takes the lock and keeps it until the connection closes.
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER)");
    db.exec("DELETE FROM holder");
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code?.startsWith("SQLITE_BUSY")) {
      throw new DataDirInUseError(
        `the data directory ${dataDir} is in use by another Plinth process${holderOf(dataDir)}; ` +
          "stop it first, or give this server its own dataDir",
      );
    }
    throw error;
  }
  // Only for the message above: the lock itself is SQLite's.
  writeFileSync(`${path}.pid`, `${process.pid}\n`, { mode: 0o600 });
  return { release: () => db.close() };
}

function holderOf(dataDir: string): string {
  try {
    const pid = readFileSync(join(dataDir, "plinth.lock.pid"), "utf8").trim();
    return pid ? ` (pid ${pid})` : "";
  } catch {
    return "";
  }
}
