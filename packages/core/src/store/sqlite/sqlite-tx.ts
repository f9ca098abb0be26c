import type Database from "better-sqlite3";
import type {
  AuditRecord,
  ChangeEventRecord,
  DenialRecord,
  ImportRecord,
  ChangeRecord,
  DeliveryAttemptRecord,
  DeliveryRecord,
  IdempotencyRecord,
  JobRecord,
  ResourceRecord,
  ReviewTimerRecord,
  RevisionRecord,
  SubscriptionRecord,
  ReplicaBeat,
  ReplicaIdentity,
} from "../records.ts";
import type { StoreTx } from "../store.ts";
import { importBody } from "../import-rows.ts";
import { deliveryToRow, subscriptionToRow } from "./notification-rows.ts";
import { type ChangeSetPlanRecord, type ChangeSetRecord, changeSetBody, planBody } from "../change-set-rows.ts";
import { changeToRow, json, replicaBeatFromRow, resourceToRow, revisionToRow, type Row } from "./rows.ts";
import { SqliteReader } from "./sqlite-reader.ts";

/** SQL built from a row's columns, once per purpose: a row builder always yields the same columns. */
const builtSql = new Map<string, string>();
function sqlOnce(purpose: string, build: () => string): string {
  let sql = builtSql.get(purpose);
  if (sql === undefined) {
    sql = build();
    builtSql.set(purpose, sql);
  }
  return sql;
}

function insertSql(table: string, row: Row): [string, unknown[]] {
  const sql = sqlOnce(`insert ${table}`, () => {
    const columns = Object.keys(row);
    return `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`;
  });
  return [sql, Object.values(row)];
}

/** Key of a resource in the store's cache of committed resources. */
export const resourceKey = (type: string, name: string) => `${type}\u0000${name}`;

/**
 * The store's transactions, on the only connection that writes. Reads come
 * from SqliteReader on the same connection, so they see the transaction's
 * own writes.
 */
export class SqliteTx extends SqliteReader implements StoreTx {
  /** Resources written in the current SQLite transaction: their cached copies are dropped when it ends. */
  readonly touchedResources: string[] = [];
  /**
   * What this connection wrote since the last `forgetWrites`, so that a batch
   * does not ask SQLite again: the next change `seq` and each change's last
   * event sequence. Only valid while the write lock is held and nothing was
   * rolled back, so the store calls `forgetWrites` at BEGIN and after every
   * ROLLBACK TO.
   */
  private nextSeq: number | undefined;
  private readonly lastEvent = new Map<string, number>();

  /** The lease clock, in ms: leases are set and expired by it (see SqliteStoreOptions.clock). */
  private readonly leaseClock: () => number;

  constructor(db: Database.Database, leaseClock: () => number) {
    super(db);
    this.leaseClock = leaseClock;
  }

  forgetWrites(): void {
    this.nextSeq = undefined;
    this.lastEvent.clear();
  }

  private run(sql: string, ...params: unknown[]): Database.RunResult {
    return this.statement(sql).run(...params);
  }

  async upsertResource(resource: ResourceRecord): Promise<void> {
    // A real upsert on the primary key only: INSERT OR REPLACE would also
    // "resolve" an identity clash by deleting the other resource.
    const row = resourceToRow(resource);
    const [sql, params] = insertSql("resources", row);
    const upsert = sqlOnce("upsert resources", () => {
      const updates = Object.keys(row)
        .filter((column) => column !== "type" && column !== "name")
        .map((column) => `${column} = excluded.${column}`)
        .join(", ");
      return `${sql} ON CONFLICT (type, name) DO UPDATE SET ${updates}`;
    });
    this.touchedResources.push(resourceKey(resource.type, resource.name));
    this.run(upsert, ...params);
  }

  async deleteResource(type: string, name: string): Promise<void> {
    this.touchedResources.push(resourceKey(type, name));
    this.run("DELETE FROM resources WHERE type = ? AND name = ?", type, name);
  }

  async insertChange(change: Omit<ChangeRecord, "seq">): Promise<ChangeRecord> {
    const seq = this.nextSeq ?? Number(this.one("SELECT coalesce(max(seq), 0) + 1 AS seq FROM changes")?.seq);
    const record = { ...change, seq };
    const [sql, params] = insertSql("changes", changeToRow(record));
    this.run(sql, ...params);
    this.nextSeq = seq + 1;
    this.lastEvent.set(change.id, 0);
    return record;
  }

  async updateChange(change: ChangeRecord): Promise<void> {
    const row = changeToRow(change);
    const columns = Object.keys(row).filter((column) => column !== "id");
    this.run(
      sqlOnce(
        "update changes",
        () => `UPDATE changes SET ${columns.map((column) => `${column} = ?`).join(", ")} WHERE id = ?`,
      ),
      ...columns.map((column) => row[column]),
      change.id,
    );
  }

  async appendEvent(event: Omit<ChangeEventRecord, "sequence">): Promise<ChangeEventRecord> {
    const sequence = (this.lastEvent.get(event.changeId) ?? this.lastEventSequence(event.changeId)) + 1;
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
    this.lastEvent.set(event.changeId, sequence);
    return { ...event, sequence };
  }

  async insertRevision(r: RevisionRecord): Promise<void> {
    const [sql, params] = insertSql("revisions", revisionToRow(r));
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

  async upsertJob(job: Omit<JobRecord, "claimToken" | "claims">): Promise<void> {
    this.run(
      `INSERT OR REPLACE INTO jobs (change_id, type, name, seq, run_after, lease_owner, lease_expires_at, phase, claim_token)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
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

  async claimJob(owner: string, leaseMs: number): Promise<JobRecord | undefined> {
    const leaseNow = this.leaseClock();
    // Oldest due job (backoff is on the wall clock) whose lease is free and that heads its resource's queue.
    const [claimed] = this.claimableJobs(leaseNow, Date.now(), 1);
    if (!claimed) return undefined;
    const token = claimed.claims + 1;
    this.run("UPDATE changes SET claims = ? WHERE id = ?", token, claimed.changeId);
    const job = { ...claimed, leaseOwner: owner, leaseExpiresAt: leaseNow + leaseMs, claimToken: token, claims: token };
    this.run(
      "UPDATE jobs SET lease_owner = ?, lease_expires_at = ?, claim_token = ? WHERE change_id = ?",
      owner,
      job.leaseExpiresAt,
      token,
      job.changeId,
    );
    return job;
  }

  async renewLease(changeId: string, claimToken: number, leaseMs: number): Promise<boolean> {
    return (
      this.run(
        "UPDATE jobs SET lease_expires_at = ? WHERE change_id = ? AND claim_token = ?",
        this.leaseClock() + leaseMs,
        changeId,
        claimToken,
      ).changes === 1
    );
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

  async insertSubscription(subscription: SubscriptionRecord): Promise<void> {
    const [sql, params] = insertSql("subscriptions", subscriptionToRow(subscription));
    this.run(sql, ...params);
  }

  async deleteSubscription(id: string): Promise<void> {
    this.run("DELETE FROM subscriptions WHERE id = ?", id);
  }

  async insertDelivery(delivery: DeliveryRecord): Promise<void> {
    const [sql, params] = insertSql("deliveries", deliveryToRow(delivery));
    this.run(sql, ...params);
  }

  async updateDelivery(d: DeliveryRecord): Promise<void> {
    this.run(
      `UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, expires_at = ?, last_error = ?,
         last_status_code = ?, delivered_at = ? WHERE id = ?`,
      d.status,
      d.attempts,
      d.nextAttemptAt,
      d.expiresAt,
      d.lastError,
      d.lastStatusCode,
      d.deliveredAt,
      d.id,
    );
  }

  async insertDeliveryAttempt(a: DeliveryAttemptRecord): Promise<void> {
    this.run(
      "INSERT INTO delivery_attempts (delivery_id, attempt, time, status_code, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
      a.deliveryId,
      a.attempt,
      a.time,
      a.statusCode,
      a.error,
      a.durationMs,
    );
  }

  async upsertReviewTimer(timer: ReviewTimerRecord): Promise<void> {
    this.run(
      "INSERT INTO review_timers (change_id, kind, due_at) VALUES (?, ?, ?) ON CONFLICT (change_id, kind) DO UPDATE SET due_at = excluded.due_at",
      timer.changeId,
      timer.kind,
      timer.dueAt,
    );
  }

  async beatReplica({ replica, host, pid }: ReplicaIdentity): Promise<void> {
    const now = this.leaseClock();
    this.run(
      `INSERT INTO replica_beats (replica, host, pid, started_at, beat_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (replica) DO UPDATE SET beat_at = excluded.beat_at`,
      replica,
      host,
      pid,
      now,
      now,
    );
    this.run("DELETE FROM replica_beats WHERE beat_at < ?", now - 7 * 24 * 3600_000);
  }

  async replicaBeats(host: string): Promise<ReplicaBeat[]> {
    const now = this.leaseClock();
    return this.all(
      `SELECT replica, host, pid, ? - started_at AS started_ms_ago, ? - beat_at AS silent_ms
       FROM replica_beats WHERE host = ? ORDER BY replica`,
      now,
      now,
      host,
    ).map(replicaBeatFromRow);
  }

  async upsertDenial(denial: DenialRecord): Promise<void> {
    this.run(
      `INSERT INTO denied_principals (principal, reason, denied_by, denied_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (principal) DO UPDATE SET reason = excluded.reason, denied_by = excluded.denied_by, denied_at = excluded.denied_at`,
      denial.principal,
      denial.reason,
      denial.deniedBy,
      denial.deniedAt,
    );
  }

  async insertImport(record: ImportRecord): Promise<void> {
    this.run(
      `INSERT INTO imports (id, requested_by, request_id, type, scope, status, body, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      record.id,
      record.requestedBy,
      record.requestId,
      record.type,
      record.scope,
      record.status,
      importBody(record),
      record.createdAt,
      record.updatedAt,
    );
  }

  async insertChangeSet(record: ChangeSetRecord): Promise<void> {
    this.run(
      "INSERT INTO change_sets (id, requested_by, request_id, body, created_at) VALUES (?, ?, ?, ?, ?)",
      record.id,
      record.requestedBy,
      record.requestId,
      changeSetBody(record),
      record.createdAt,
    );
  }

  async insertChangeSetPlan(record: ChangeSetPlanRecord): Promise<void> {
    this.run(
      "INSERT INTO change_set_plans (id, planned_by, body, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
      record.id,
      record.plannedBy,
      planBody(record),
      record.createdAt,
      record.expiresAt,
    );
  }

  async updateImport(record: ImportRecord): Promise<void> {
    this.run(
      "UPDATE imports SET status = ?, body = ?, updated_at = ? WHERE id = ?",
      record.status,
      importBody(record),
      record.updatedAt,
      record.id,
    );
  }

  async deleteDenial(principal: string): Promise<void> {
    this.run("DELETE FROM denied_principals WHERE principal = ?", principal);
  }

  async deleteReviewTimer(changeId: string, kind: ReviewTimerRecord["kind"]): Promise<void> {
    this.run("DELETE FROM review_timers WHERE change_id = ? AND kind = ?", changeId, kind);
  }

  async claimReconcileScope(scopeKey: string, round: number, owner: string, at: string): Promise<boolean> {
    // Only forward: a replica that reaches an older round late finds a newer one already claimed.
    const claimed = this.run(
      `INSERT INTO reconcile_claims (scope_key, round, owner, claimed_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (scope_key) DO UPDATE SET round = excluded.round, owner = excluded.owner, claimed_at = excluded.claimed_at
       WHERE reconcile_claims.round < excluded.round`,
      scopeKey,
      round,
      owner,
      at,
    );
    return claimed.changes === 1;
  }

  async pruneDeliveries(before: string): Promise<void> {
    const done = "SELECT id FROM deliveries WHERE status IN ('DELIVERED','EXPIRED') AND created_at < ?";
    this.run(`DELETE FROM delivery_attempts WHERE delivery_id IN (${done})`, before);
    this.run(`DELETE FROM deliveries WHERE id IN (${done})`, before);
  }
}
