import type Database from "better-sqlite3";
import { InvalidArgumentError } from "../../domain/errors.ts";
import type {
  ChangeEventRecord,
  DenialRecord,
  ChangeFilter,
  ChangeRecord,
  DeliveryAttemptRecord,
  DeliveryRecord,
  IdempotencyRecord,
  ImportRecord,
  JobRecord,
  Page,
  ResourceFilter,
  ResourceRecord,
  ReviewTimerRecord,
  RevisionRecord,
  SubscriptionRecord,
} from "../records.ts";
import type { StoreReader } from "../store.ts";
import { importFromRow } from "../import-rows.ts";
import { attemptFromRow, deliveryFromRow, reviewTimerFromRow, subscriptionFromRow } from "./notification-rows.ts";
import {
  type ChangeSetPlanRecord,
  type ChangeSetRecord,
  changeSetFromRow,
  changeSetTurn,
  planFromRow,
} from "../change-set-rows.ts";
import { type Row, changeFromRow, eventFromRow, resourceFromRow, revisionFromRow, toJobRecord } from "./rows.ts";

const openStatuses = "('PENDING_REVIEW','APPROVED','QUEUED','APPLYING')";

/** A job row with its change's claim counter. */
const jobSelect = "SELECT j.*, c.claims FROM jobs j JOIN changes c ON c.id = j.change_id";

// Queries that sort or take max() compare an indexed column with CAST(? AS TEXT) rather than a bare `?`:
// with a bare parameter the same statement costs 20-30 µs per run instead of 3-5 µs (measured with the
// SQLite that better-sqlite3 bundles, which is built with STAT4 and apparently re-plans such statements
// on every run). The results are the same: these parameters are always text.

/** Page tokens are opaque to clients: base64url JSON of the last key seen. */
export function encodePageToken(key: unknown): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

export function decodePageToken<T>(token: string, check: (value: unknown) => value is T): T | undefined {
  if (token === "") return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (check(value)) return value;
  } catch {
    // Falls through to the error below.
  }
  throw new InvalidArgumentError([
    { field: "page_token", description: "is not a token this server returned; omit it to start from the first page" },
  ]);
}

/** WHERE clauses built from optional filters, with their parameters in order. */
class Conditions {
  readonly params: unknown[] = [];
  private readonly clauses: string[] = [];
  add(clause: string, ...values: unknown[]): void {
    this.clauses.push(clause);
    this.params.push(...values);
  }
  where(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(" AND ")}` : "";
  }
}

const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value);
const isPair = (value: unknown): value is [string, string] =>
  Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "string");

/** Read queries over one connection; used for committed reads and inside transactions. */
export class SqliteReader implements StoreReader {
  protected readonly db: Database.Database;
  constructor(db: Database.Database) {
    this.db = db;
  }

  /** Compiled statements by SQL text: preparing costs more than running most of these queries. */
  private readonly statements = new Map<string, Database.Statement<unknown[], Row>>();

  protected statement(sql: string): Database.Statement<unknown[], Row> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare<unknown[], Row>(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  protected one(sql: string, ...params: unknown[]): Row | undefined {
    return this.statement(sql).get(...params);
  }

  protected all(sql: string, ...params: unknown[]): Row[] {
    return this.statement(sql).all(...params);
  }

  async getResource(type: string, name: string): Promise<ResourceRecord | undefined> {
    return this.resourceNow(type, name);
  }

  /** getResource without the promise: the store's cache fills in the same turn as the read. */
  resourceNow(type: string, name: string): ResourceRecord | undefined {
    const row = this.one("SELECT * FROM resources WHERE type = ? AND name = ?", type, name);
    return row && resourceFromRow(row);
  }

  async findResourceByIdentity(type: string, identity: string): Promise<ResourceRecord | undefined> {
    const row = this.one(
      "SELECT * FROM resources WHERE type = ? AND identity = ? AND status <> 'DELETED'",
      type,
      identity,
    );
    return row && resourceFromRow(row);
  }

  async listResources(filter: ResourceFilter, pageSize: number, pageToken: string): Promise<Page<ResourceRecord>> {
    const after = decodePageToken(pageToken, isPair);
    const q = new Conditions();
    if (filter.type) q.add("type = ?", filter.type);
    if (filter.team) q.add("owner_team = ?", filter.team);
    if (filter.status) q.add("status = ?", filter.status);
    if (after) q.add("(type, name) > (?, ?)", after[0], after[1]);
    const rows = this.all(
      `SELECT * FROM resources ${q.where()} ORDER BY type, name LIMIT ?`,
      ...q.params,
      pageSize + 1,
    );
    const items = rows.slice(0, pageSize).map(resourceFromRow);
    const last = items.at(-1);
    return { items, nextPageToken: rows.length > pageSize && last ? encodePageToken([last.type, last.name]) : "" };
  }

  async getChange(id: string): Promise<ChangeRecord | undefined> {
    const row = this.one("SELECT * FROM changes WHERE id = ?", id);
    return row && changeFromRow(row);
  }

  async listChanges(filter: ChangeFilter, pageSize: number, pageToken: string): Promise<Page<ChangeRecord>> {
    const after = decodePageToken(pageToken, isNumber);
    const q = new Conditions();
    if (filter.status) q.add("status = ?", filter.status);
    if (filter.type) q.add("type = ?", filter.type);
    if (filter.name) q.add("name = ?", filter.name);
    if (filter.team) q.add("team = ?", filter.team);
    if (filter.finishedAfter) q.add("finished_at >= ?", filter.finishedAfter);
    if (after !== undefined) q.add("seq > ?", after);
    const rows = this.all(`SELECT * FROM changes ${q.where()} ORDER BY seq LIMIT ?`, ...q.params, pageSize + 1);
    const items = rows.slice(0, pageSize).map(changeFromRow);
    const last = items.at(-1);
    return { items, nextPageToken: rows.length > pageSize && last ? encodePageToken(last.seq) : "" };
  }

  async openChanges(type: string, name: string): Promise<ChangeRecord[]> {
    return this.all(
      `SELECT * FROM changes WHERE type = CAST(? AS TEXT) AND name = CAST(? AS TEXT) AND status IN ${openStatuses}
       ORDER BY seq`,
      type,
      name,
    ).map(changeFromRow);
  }

  async latestLiveChange(type: string, name: string): Promise<ChangeRecord | undefined> {
    const row = this.one(
      `SELECT * FROM changes WHERE type = CAST(? AS TEXT) AND name = CAST(? AS TEXT)
         AND status NOT IN ('REJECTED','CANCELLED','FAILED')
       ORDER BY seq DESC LIMIT 1`,
      type,
      name,
    );
    return row && changeFromRow(row);
  }

  async listEvents(changeId: string, afterSequence: number): Promise<ChangeEventRecord[]> {
    return this.all(
      "SELECT * FROM change_events WHERE change_id = CAST(? AS TEXT) AND sequence > ? ORDER BY sequence",
      changeId,
      afterSequence,
    ).map(eventFromRow);
  }

  async getRevision(type: string, name: string, revision: number): Promise<RevisionRecord | undefined> {
    const row = this.one("SELECT * FROM revisions WHERE type = ? AND name = ? AND revision = ?", type, name, revision);
    return row && revisionFromRow(row);
  }

  async listRevisions(type: string, name: string, pageSize: number, pageToken: string): Promise<Page<RevisionRecord>> {
    const before = decodePageToken(pageToken, isNumber);
    const rows = this.all(
      `SELECT * FROM revisions WHERE type = CAST(? AS TEXT) AND name = CAST(? AS TEXT) ${before === undefined ? "" : "AND revision < ?"}
       ORDER BY revision DESC LIMIT ?`,
      ...(before === undefined ? [type, name] : [type, name, before]),
      pageSize + 1,
    );
    const items = rows.slice(0, pageSize).map(revisionFromRow);
    const last = items.at(-1);
    return { items, nextPageToken: rows.length > pageSize && last ? encodePageToken(last.revision) : "" };
  }

  async getIdempotencyKey(principal: string, requestId: string): Promise<IdempotencyRecord | undefined> {
    const row = this.one("SELECT * FROM idempotency_keys WHERE principal = ? AND request_id = ?", principal, requestId);
    return (
      row && {
        principal: row.principal as string,
        requestId: row.request_id as string,
        requestHash: row.request_hash as string,
        changeId: row.change_id as string | null,
        createdAt: row.created_at as string,
      }
    );
  }

  async getJob(changeId: string): Promise<JobRecord | undefined> {
    const row = this.one(`${jobSelect} WHERE j.change_id = ?`, changeId);
    return row && toJobRecord(row);
  }

  /** The sequence number of a change's last event; 0 when it has none. */
  lastEventSequence(changeId: string): number {
    // CAST: see the note at the top of this file.
    const row = this.one(
      "SELECT coalesce(max(sequence), 0) AS s FROM change_events WHERE change_id = CAST(? AS TEXT)",
      changeId,
    );
    return Number(row?.s ?? 0);
  }

  /**
   * Jobs a worker may claim now, oldest first: due (`runAfter` against the
   * wall clock), lease free or expired (against the lease clock), and heading
   * their resource's queue (an earlier open change, even one still in review,
   * keeps a job waiting).
   */
  claimableJobs(leaseNow: number, wallNow: number, limit: number): JobRecord[] {
    return this.all(
      `${jobSelect}
       WHERE j.run_after <= ?
         AND (j.lease_expires_at IS NULL OR j.lease_expires_at < ?)
         AND NOT EXISTS (
           SELECT 1 FROM changes o
           WHERE o.type = j.type AND o.name = j.name AND o.seq < j.seq
             AND o.status IN ${openStatuses})
         AND ${changeSetTurn}
       ORDER BY j.seq LIMIT ?`,
      wallNow,
      leaseNow,
      limit,
    ).map(toJobRecord);
  }

  async queueStats(now: number): Promise<{ depth: number; oldestAgeMs: number }> {
    const row = this.one(
      `SELECT count(*) AS depth, min(c.created_at) AS oldest FROM jobs j JOIN changes c ON c.id = j.change_id`,
    );
    const oldest = row?.oldest ? Date.parse(row.oldest as string) : now;
    return { depth: Number(row?.depth ?? 0), oldestAgeMs: Math.max(0, now - oldest) };
  }

  async countChangesByStatus(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const row of this.all("SELECT status, count(*) AS n FROM changes GROUP BY status")) {
      counts[row.status as string] = Number(row.n);
    }
    return counts;
  }

  async oldestOpenChangeAges(now: number): Promise<Record<string, number>> {
    const ages: Record<string, number> = {};
    const rows = this.all(
      `SELECT status, min(updated_at) AS oldest FROM changes
       WHERE status IN ('PENDING_REVIEW', 'APPROVED', 'QUEUED', 'APPLYING') GROUP BY status`,
    );
    for (const row of rows) ages[row.status as string] = Math.max(0, now - Date.parse(row.oldest as string));
    return ages;
  }

  async countResourcesByStatus(): Promise<{ type: string; status: string; count: number }[]> {
    return this.all("SELECT type, status, count(*) AS n FROM resources GROUP BY type, status").map((row) => ({
      type: row.type as string,
      status: row.status as string,
      count: Number(row.n),
    }));
  }

  async getSubscription(id: string): Promise<SubscriptionRecord | undefined> {
    const row = this.one("SELECT * FROM subscriptions WHERE id = ?", id);
    return row && subscriptionFromRow(row);
  }

  async listSubscriptions(ownerTeam?: string): Promise<SubscriptionRecord[]> {
    const rows =
      ownerTeam === undefined
        ? this.all("SELECT * FROM subscriptions ORDER BY created_at, id")
        : this.all("SELECT * FROM subscriptions WHERE owner_team = ? ORDER BY created_at, id", ownerTeam);
    return rows.map(subscriptionFromRow);
  }

  async subscriptionsFor(changeId: string | null): Promise<SubscriptionRecord[]> {
    return this.all(
      "SELECT * FROM subscriptions WHERE change_id IS NULL OR change_id = ? ORDER BY created_at, id",
      changeId,
    ).map(subscriptionFromRow);
  }

  async getDelivery(id: string): Promise<DeliveryRecord | undefined> {
    const row = this.one("SELECT * FROM deliveries WHERE id = ?", id);
    return row && deliveryFromRow(row);
  }

  async dueDeliveries(now: number, limit: number): Promise<DeliveryRecord[]> {
    return this.all(
      "SELECT * FROM deliveries WHERE status = 'PENDING' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
      now,
      limit,
    ).map(deliveryFromRow);
  }

  async outboxStats(now: number): Promise<{ pending: number; oldestDueMs: number }> {
    const row = this.one(
      "SELECT count(*) AS pending, min(next_attempt_at) AS due FROM deliveries WHERE status = 'PENDING'",
    );
    const due = row?.due === null || row?.due === undefined ? now : Number(row.due);
    return { pending: Number(row?.pending ?? 0), oldestDueMs: Math.max(0, now - due) };
  }

  async listDeliveries(
    filter: { changeId?: string; subscriptionId?: string },
    limit: number,
  ): Promise<DeliveryRecord[]> {
    const q = new Conditions();
    if (filter.changeId !== undefined) q.add("change_id = ?", filter.changeId);
    if (filter.subscriptionId !== undefined) q.add("subscription_id = ?", filter.subscriptionId);
    return this.all(`SELECT * FROM deliveries ${q.where()} ORDER BY created_at, id LIMIT ?`, ...q.params, limit).map(
      deliveryFromRow,
    );
  }

  async listDeliveryAttempts(deliveryId: string): Promise<DeliveryAttemptRecord[]> {
    return this.all("SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY attempt", deliveryId).map(
      attemptFromRow,
    );
  }

  async listDenials(): Promise<DenialRecord[]> {
    return this.all("SELECT * FROM denied_principals ORDER BY principal").map(denialFromRow);
  }

  async getImport(id: string): Promise<ImportRecord | undefined> {
    const row = this.one("SELECT * FROM imports WHERE id = ?", id);
    return row && importFromRow(row);
  }

  async recordingImports(): Promise<string[]> {
    return this.all("SELECT id FROM imports WHERE status = 'RECORDING' ORDER BY created_at").map(
      (row) => row.id as string,
    );
  }

  async findImportByRequest(requestedBy: string, requestId: string): Promise<ImportRecord | undefined> {
    const row = this.one("SELECT * FROM imports WHERE requested_by = ? AND request_id = ?", requestedBy, requestId);
    return row && importFromRow(row);
  }

  async getChangeSet(id: string): Promise<ChangeSetRecord | undefined> {
    const row = this.one("SELECT * FROM change_sets WHERE id = ?", id);
    return row && changeSetFromRow(row);
  }

  async findChangeSetByRequest(requestedBy: string, requestId: string): Promise<ChangeSetRecord | undefined> {
    const row = this.one("SELECT * FROM change_sets WHERE requested_by = ? AND request_id = ?", requestedBy, requestId);
    return row && changeSetFromRow(row);
  }

  async listChangeSetMembers(changeSetId: string): Promise<ChangeRecord[]> {
    return this.all("SELECT * FROM changes WHERE change_set_id = ? ORDER BY change_set_order, seq", changeSetId).map(
      changeFromRow,
    );
  }

  async getChangeSetPlan(id: string): Promise<ChangeSetPlanRecord | undefined> {
    const row = this.one("SELECT * FROM change_set_plans WHERE id = ?", id);
    return row && planFromRow(row);
  }

  async dueReviewTimers(now: number, limit: number): Promise<ReviewTimerRecord[]> {
    return this.all("SELECT * FROM review_timers WHERE due_at <= ? ORDER BY due_at LIMIT ?", now, limit).map(
      reviewTimerFromRow,
    );
  }
}

const denialFromRow = (row: Record<string, unknown>): DenialRecord => ({
  principal: row.principal as string,
  reason: row.reason as string,
  deniedBy: row.denied_by as string,
  deniedAt: row.denied_at as string,
});
