import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type {
  AuditRecord,
  ChangeEventRecord,
  ChangeRecord,
  IdempotencyRecord,
  JobRecord,
  ResourceRecord,
  RevisionRecord,
} from "../records.ts";
import type { Store, StoreTx } from "../store.ts";
import { migrate } from "./migrate.ts";
import { type Row, changeToRow, json, resourceToRow } from "./rows.ts";
import { SqliteReader } from "./sqlite-reader.ts";

export interface SqliteStoreOptions {
  /** Database file; its directory is created if missing. */
  path: string;
  /**
   * SQLite `synchronous` mode. FULL (default): an acknowledged change survives
   * a power cut. NORMAL: it survives a killed process, not a power cut.
   */
  synchronous?: "FULL" | "NORMAL";
  /** Upper bound on transactions sharing one commit. */
  maxBatch?: number;
}

const toJobRecord = (row: Row): JobRecord => ({
  changeId: row.change_id as string,
  type: row.type as string,
  name: row.name as string,
  seq: row.seq as number,
  runAfter: row.run_after as number,
  leaseOwner: row.lease_owner as string | null,
  leaseExpiresAt: row.lease_expires_at as number | null,
  phase: row.phase as JobRecord["phase"],
});

function insertSql(table: string, row: Row): [string, unknown[]] {
  const columns = Object.keys(row);
  return [
    `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
    Object.values(row),
  ];
}

class SqliteTx extends SqliteReader implements StoreTx {
  private run(sql: string, ...params: unknown[]): Database.RunResult {
    return this.statement(sql).run(...params);
  }

  async upsertResource(resource: ResourceRecord): Promise<void> {
    // A real upsert on the primary key only: INSERT OR REPLACE would also
    // "resolve" an identity clash by deleting the other resource.
    const row = resourceToRow(resource);
    const [sql, params] = insertSql("resources", row);
    const updates = Object.keys(row)
      .filter((column) => column !== "type" && column !== "name")
      .map((column) => `${column} = excluded.${column}`)
      .join(", ");
    this.run(`${sql} ON CONFLICT (type, name) DO UPDATE SET ${updates}`, ...params);
  }

  async deleteResource(type: string, name: string): Promise<void> {
    this.run("DELETE FROM resources WHERE type = ? AND name = ?", type, name);
  }

  async insertChange(change: Omit<ChangeRecord, "seq">): Promise<ChangeRecord> {
    const seq = Number(this.one("SELECT coalesce(max(seq), 0) + 1 AS seq FROM changes")?.seq);
    const record = { ...change, seq };
    const [sql, params] = insertSql("changes", changeToRow(record));
    this.run(sql, ...params);
    return record;
  }

  async updateChange(change: ChangeRecord): Promise<void> {
    const row = changeToRow(change);
    const columns = Object.keys(row).filter((column) => column !== "id");
    this.run(
      `UPDATE changes SET ${columns.map((column) => `${column} = ?`).join(", ")} WHERE id = ?`,
      ...columns.map((column) => row[column]),
      change.id,
    );
  }

  async appendEvent(event: Omit<ChangeEventRecord, "sequence">): Promise<ChangeEventRecord> {
    const sequence = Number(
      this.one("SELECT coalesce(max(sequence), 0) + 1 AS s FROM change_events WHERE change_id = ?", event.changeId)?.s,
    );
    this.run(
      "INSERT INTO change_events (change_id, sequence, time, status, kind, message, details) VALUES (?, ?, ?, ?, ?, ?, ?)",
      event.changeId,
      sequence,
      event.time,
      event.status,
      event.kind,
      event.message,
      json(event.details),
    );
    return { ...event, sequence };
  }

  async insertRevision(r: RevisionRecord): Promise<void> {
    const [sql, params] = insertSql("revisions", {
      type: r.type,
      name: r.name,
      revision: r.revision,
      change_id: r.changeId,
      spec: json(r.spec),
      resolved_spec: json(r.resolvedSpec),
      outputs: json(r.outputs),
      requested_by: r.requestedBy,
      approved_by: json(r.approvedBy),
      created_at: r.createdAt,
      deleted: r.deleted ? 1 : 0,
    });
    this.run(sql, ...params);
  }

  async insertIdempotencyKey(key: IdempotencyRecord): Promise<void> {
    this.run(
      "INSERT INTO idempotency_keys (principal, request_id, request_hash, change_id, created_at) VALUES (?, ?, ?, ?, ?)",
      key.principal,
      key.requestId,
      key.requestHash,
      key.changeId,
      key.createdAt,
    );
  }

  async upsertJob(job: JobRecord): Promise<void> {
    this.run(
      `INSERT OR REPLACE INTO jobs (change_id, type, name, seq, run_after, lease_owner, lease_expires_at, phase)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      job.changeId,
      job.type,
      job.name,
      job.seq,
      job.runAfter,
      job.leaseOwner,
      job.leaseExpiresAt,
      job.phase,
    );
  }

  async deleteJob(changeId: string): Promise<void> {
    this.run("DELETE FROM jobs WHERE change_id = ?", changeId);
  }

  async getJob(changeId: string): Promise<JobRecord | undefined> {
    const row = this.one("SELECT * FROM jobs WHERE change_id = ?", changeId);
    return row && toJobRecord(row);
  }

  async claimJob(owner: string, now: number, leaseMs: number): Promise<JobRecord | undefined> {
    // Oldest due job whose lease is free and that heads its resource's queue:
    // an earlier open change (even one still in review) keeps it waiting.
    const row = this.one(
      `SELECT j.* FROM jobs j
       WHERE j.run_after <= ?
         AND (j.lease_expires_at IS NULL OR j.lease_expires_at < ?)
         AND NOT EXISTS (
           SELECT 1 FROM changes c
           WHERE c.type = j.type AND c.name = j.name AND c.seq < j.seq
             AND c.status IN ('PENDING_REVIEW','APPROVED','QUEUED','APPLYING'))
       ORDER BY j.seq LIMIT 1`,
      now,
      now,
    );
    if (!row) return undefined;
    const job = { ...toJobRecord(row), leaseOwner: owner, leaseExpiresAt: now + leaseMs };
    this.run(
      "UPDATE jobs SET lease_owner = ?, lease_expires_at = ? WHERE change_id = ?",
      owner,
      job.leaseExpiresAt,
      job.changeId,
    );
    return job;
  }

  async appendAudit(record: AuditRecord): Promise<void> {
    this.run(
      "INSERT INTO audit_log (time, principal, action, target, details) VALUES (?, ?, ?, ?, ?)",
      record.time,
      record.principal,
      record.action,
      record.target,
      json(record.details),
    );
  }

  async pruneIdempotencyKeys(before: string): Promise<number> {
    return this.run("DELETE FROM idempotency_keys WHERE created_at < ?", before).changes;
  }
}

interface Pending {
  work: (tx: StoreTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * The embedded store: one SQLite file in WAL mode, a write connection used
 * only inside transactions and a read connection that sees committed data.
 */
export class SqliteStore extends SqliteReader implements Store {
  private readonly writer: Database.Database;
  private readonly tx: SqliteTx;
  private readonly queue: Pending[] = [];
  private flushing = false;
  private scheduled = false;
  private readonly maxBatch: number;

  constructor(options: SqliteStoreOptions) {
    mkdirSync(dirname(options.path), { recursive: true });
    const writer = new Database(options.path);
    writer.pragma("journal_mode = WAL");
    writer.pragma(`synchronous = ${options.synchronous ?? "FULL"}`);
    writer.pragma("foreign_keys = ON");
    writer.pragma("busy_timeout = 5000");
    migrate(writer);
    const reader = new Database(options.path, { readonly: true });
    reader.pragma("busy_timeout = 5000");
    super(reader);
    this.writer = writer;
    this.tx = new SqliteTx(writer);
    this.maxBatch = options.maxBatch ?? 256;
  }

  transact<T>(work: (tx: StoreTx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // Wait one turn of the event loop so requests that arrive together share a commit.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing = true;
    const batch = this.queue.splice(0, this.maxBatch);
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.writer.exec("BEGIN IMMEDIATE");
      for (const item of batch) {
        this.writer.exec("SAVEPOINT work");
        try {
          const value = await item.work(this.tx);
          this.writer.exec("RELEASE work");
          outcomes.push({ ok: true, value });
        } catch (error) {
          this.writer.exec("ROLLBACK TO work");
          this.writer.exec("RELEASE work");
          outcomes.push({ ok: false, value: error });
        }
      }
      this.writer.exec("COMMIT");
    } catch (error) {
      if (this.writer.inTransaction) this.writer.exec("ROLLBACK");
      for (const item of batch) item.reject(error);
      this.afterFlush();
      return;
    }
    // Nobody hears back before the commit: that is the durability promise.
    batch.forEach((item, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) item.resolve(outcome.value);
      else item.reject(outcome?.value);
    });
    this.afterFlush();
  }

  private afterFlush(): void {
    this.flushing = false;
    if (this.queue.length > 0) this.schedule();
  }

  async close(): Promise<void> {
    while (this.flushing || this.queue.length > 0) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.db.close();
    this.writer.close();
  }
}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(options);
}
