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

/** Every audit row with its details, oldest first. */
export function auditDetails(
  dataDir: string,
): { principal: string; action: string; target: string; details: Record<string, unknown> }[] {
  const db = new Database(join(dataDir, "plinth.db"), { readonly: true });
  try {
    const rows = db.prepare("SELECT principal, action, target, details FROM audit_log ORDER BY id").all() as {
      principal: string;
      action: string;
      target: string;
      details: string;
    }[];
    return rows.map((row) => ({ ...row, details: JSON.parse(row.details) as Record<string, unknown> }));
  } finally {
    db.close();
  }
}
