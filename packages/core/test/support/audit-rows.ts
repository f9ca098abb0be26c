import Database from "better-sqlite3";
import { join } from "node:path";

/** The audit log's rows about one target ("type/name"), oldest first, read from a test service's SQLite store. */
export function auditRows(dataDir: string, target: string): { principal: string; action: string }[] {
  const db = new Database(join(dataDir, "plinth.db"), { readonly: true });
  try {
    return db.prepare("SELECT principal, action FROM audit_log WHERE target = ? ORDER BY id").all(target) as {
      principal: string;
      action: string;
    }[];
  } finally {
    db.close();
  }
}
