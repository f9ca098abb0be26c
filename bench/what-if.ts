// Bench-only "what if" switches that try a suggested change to core without
// touching core: they patch the server process before Plinth starts. Numbers
// taken with them are estimates for a decision, never the benchmark's result.
//   statement-cache  better-sqlite3's prepare() memoized per connection and SQL
//                    text (core prepares every statement on every call; each
//                    prepare also compiles a row-factory function).
//   claim-index      an index on jobs(seq) and the claim query walking it
//                    (`+j.run_after` keeps SQLite off jobs_due), so claiming the
//                    next job stops at the first eligible one instead of
//                    sorting the whole queue on every claim.
import { createRequire } from "node:module";
import { join } from "node:path";

export const whatIfs = ["statement-cache", "claim-index"] as const;
export type WhatIf = (typeof whatIfs)[number];

interface Statement {
  run(...params: unknown[]): unknown;
}
interface DatabaseClass {
  new (file: string): { exec(sql: string): void; close(): void };
  prototype: { prepare(this: object, sql: string): Statement };
}

const requireFromCore = createRequire(join(import.meta.dirname, "../packages/core/package.json"));
const Database = requireFromCore("better-sqlite3") as DatabaseClass;

const claimFilter = "WHERE j.run_after <= ?";

/** Patches what must be in place before the store opens. */
export function applyBeforeStart(enabled: readonly WhatIf[]): void {
  const cache = enabled.includes("statement-cache");
  const claim = enabled.includes("claim-index");
  if (!cache && !claim) return;
  const prepare = Database.prototype.prepare;
  const statements = new WeakMap<object, Map<string, Statement>>();
  Database.prototype.prepare = function (sql: string): Statement {
    const text = claim && sql.includes(claimFilter) ? sql.replace(claimFilter, "WHERE +j.run_after <= ?") : sql;
    if (!cache) return prepare.call(this, text);
    let byText = statements.get(this);
    if (!byText) statements.set(this, (byText = new Map()));
    let statement = byText.get(text);
    if (!statement) byText.set(text, (statement = prepare.call(this, text)));
    return statement;
  };
}

/** Changes what needs the migrated database. */
export function applyAfterStart(enabled: readonly WhatIf[], dataDir: string): void {
  if (!enabled.includes("claim-index")) return;
  const db = new Database(join(dataDir, "plinth.db"));
  db.exec("CREATE INDEX IF NOT EXISTS jobs_seq ON jobs (seq)");
  db.close();
}
