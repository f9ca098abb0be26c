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
import {
  attemptFromRow,
  deliveryFromRow,
  reviewTimerFromRow,
  subscriptionFromRow,
} from "../sqlite/notification-rows.ts";
import {
  type Row,
  changeFromRow,
  eventFromRow,
  resourceFromRow,
  revisionFromRow,
  toJobRecord,
} from "../sqlite/rows.ts";
import { decodePageToken, encodePageToken } from "../sqlite/sqlite-reader.ts";
import type { StoreReader } from "../store.ts";
import { importFromRow } from "../import-rows.ts";

// Rows come back in the SQLite store's shape (JSON columns as text, bigints as numbers: see `rowTypes` in
// postgres-store.ts), so both stores share one row <-> record mapping and one page-token format.

import { type ChangeSetPlanRecord, type ChangeSetRecord, changeSetFromRow, planFromRow } from "../change-set-rows.ts";

export const openStatuses = "('PENDING_REVIEW','APPROVED','QUEUED','APPLYING')";

/** A pool (committed reads, one statement each) or the client of one transaction. */
export interface Queryable {
  query(
    query: string | { name: string; text: string; values: unknown[] },
    values?: unknown[],
  ): Promise<{ rows: Row[]; rowCount: number | null }>;
}

/** Statement names by text, shared by every connection of this process (each text always gets the same name). */
const statementNames = new Map<string, string>();

/**
 * The statement as a named prepared statement: a connection parses and plans
 * each text once, then only binds and runs it. The texts are a fixed set
 * (filters combine into a few shapes), so the names do not grow without end.
 */
export function prepared(text: string, values: unknown[]): { name: string; text: string; values: unknown[] } {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `plinth_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return { name, text, values };
}

/** WHERE clauses built from optional filters, numbering their parameters. */
class Conditions {
  readonly params: unknown[] = [];
  private readonly clauses: string[] = [];
  add(clause: (param: string) => string, value: unknown): void {
    this.params.push(value);
    this.clauses.push(clause(`$${this.params.length}`));
  }
  next(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }
  where(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(" AND ")}` : "";
  }
}

const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value);
const isPair = (value: unknown): value is [string, string] =>
  Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "string");

/** A job with its change's claim count (002-claims.sql), in the shape `toJobRecord` reads. */
export const jobSelect = "SELECT j.*, c.claims FROM jobs j JOIN changes c ON c.id = j.change_id";

/** Read queries; used for committed reads on the pool and inside transactions. */
export class PostgresReader implements StoreReader {
  constructor(protected readonly db: Queryable) {}

  protected async one(sql: string, ...params: unknown[]): Promise<Row | undefined> {
    return (await this.db.query(prepared(sql, params))).rows[0];
  }

  protected async all(sql: string, ...params: unknown[]): Promise<Row[]> {
    return (await this.db.query(prepared(sql, params))).rows;
  }

  async getResource(type: string, name: string): Promise<ResourceRecord | undefined> {
    const row = await this.one("SELECT * FROM resources WHERE type = $1 AND name = $2", type, name);
    return row && resourceFromRow(row);
  }

  async findResourceByIdentity(type: string, identity: string): Promise<ResourceRecord | undefined> {
    const row = await this.one(
      "SELECT * FROM resources WHERE type = $1 AND identity = $2 AND status <> 'DELETED'",
      type,
      identity,
    );
    return row && resourceFromRow(row);
  }

  async listResources(filter: ResourceFilter, pageSize: number, pageToken: string): Promise<Page<ResourceRecord>> {
    const after = decodePageToken(pageToken, isPair);
    const q = new Conditions();
    if (filter.type) q.add((p) => `type = ${p}`, filter.type);
    if (filter.team) q.add((p) => `owner_team = ${p}`, filter.team);
    if (filter.status) q.add((p) => `status = ${p}`, filter.status);
    if (after) {
      const type = q.next(after[0]);
      q.add((name) => `(type, name) > (${type}, ${name})`, after[1]);
    }
    const limit = q.next(pageSize + 1);
    const rows = await this.all(`SELECT * FROM resources ${q.where()} ORDER BY type, name LIMIT ${limit}`, ...q.params);
    const items = rows.slice(0, pageSize).map(resourceFromRow);
    const last = items.at(-1);
    return { items, nextPageToken: rows.length > pageSize && last ? encodePageToken([last.type, last.name]) : "" };
  }

  async getChange(id: string): Promise<ChangeRecord | undefined> {
    const row = await this.one("SELECT * FROM changes WHERE id = $1", id);
    return row && changeFromRow(row);
  }

  async listChanges(filter: ChangeFilter, pageSize: number, pageToken: string): Promise<Page<ChangeRecord>> {
    const after = decodePageToken(pageToken, isNumber);
    const q = new Conditions();
    if (filter.status) q.add((p) => `status = ${p}`, filter.status);
    if (filter.type) q.add((p) => `type = ${p}`, filter.type);
    if (filter.name) q.add((p) => `name = ${p}`, filter.name);
    if (filter.team) q.add((p) => `team = ${p}`, filter.team);
    if (filter.finishedAfter) q.add((p) => `finished_at >= ${p}`, filter.finishedAfter);
    if (after !== undefined) q.add((p) => `seq > ${p}`, after);
    const limit = q.next(pageSize + 1);
    const rows = await this.all(`SELECT * FROM changes ${q.where()} ORDER BY seq LIMIT ${limit}`, ...q.params);
    const items = rows.slice(0, pageSize).map(changeFromRow);
    const last = items.at(-1);
    return { items, nextPageToken: rows.length > pageSize && last ? encodePageToken(last.seq) : "" };
  }

  async openChanges(type: string, name: string): Promise<ChangeRecord[]> {
    const rows = await this.all(
      `SELECT * FROM changes WHERE type = $1 AND name = $2 AND status IN ${openStatuses} ORDER BY seq`,
      type,
      name,
    );
    return rows.map(changeFromRow);
  }

  async latestLiveChange(type: string, name: string): Promise<ChangeRecord | undefined> {
    const row = await this.one(
      `SELECT * FROM changes WHERE type = $1 AND name = $2 AND status NOT IN ('REJECTED','CANCELLED','FAILED')
       ORDER BY seq DESC LIMIT 1`,
      type,
      name,
    );
    return row && changeFromRow(row);
  }

  async listEvents(changeId: string, afterSequence: number): Promise<ChangeEventRecord[]> {
    const rows = await this.all(
      "SELECT * FROM change_events WHERE change_id = $1 AND sequence > $2 ORDER BY sequence",
      changeId,
      afterSequence,
    );
    return rows.map(eventFromRow);
  }

  async getRevision(type: string, name: string, revision: number): Promise<RevisionRecord | undefined> {
    const row = await this.one(
      "SELECT * FROM revisions WHERE type = $1 AND name = $2 AND revision = $3",
      type,
      name,
      revision,
    );
    return row && revisionFromRow(row);
  }

  async listRevisions(type: string, name: string, pageSize: number, pageToken: string): Promise<Page<RevisionRecord>> {
    const before = decodePageToken(pageToken, isNumber);
    const rows =
      before === undefined
        ? await this.all(
            "SELECT * FROM revisions WHERE type = $1 AND name = $2 ORDER BY revision DESC LIMIT $3",
            type,
            name,
            pageSize + 1,
          )
        : await this.all(
            "SELECT * FROM revisions WHERE type = $1 AND name = $2 AND revision < $3 ORDER BY revision DESC LIMIT $4",
            type,
            name,
            before,
            pageSize + 1,
          );
    const items = rows.slice(0, pageSize).map(revisionFromRow);
    const last = items.at(-1);
    return { items, nextPageToken: rows.length > pageSize && last ? encodePageToken(last.revision) : "" };
  }

  async getIdempotencyKey(principal: string, requestId: string): Promise<IdempotencyRecord | undefined> {
    const row = await this.one(
      "SELECT * FROM idempotency_keys WHERE principal = $1 AND request_id = $2",
      principal,
      requestId,
    );
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

  async queueStats(now: number): Promise<{ depth: number; oldestAgeMs: number }> {
    const row = await this.one(
      "SELECT count(*) AS depth, min(c.created_at) AS oldest FROM jobs j JOIN changes c ON c.id = j.change_id",
    );
    const oldest = row?.oldest ? Date.parse(row.oldest as string) : now;
    return { depth: Number(row?.depth ?? 0), oldestAgeMs: Math.max(0, now - oldest) };
  }

  async countChangesByStatus(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const row of await this.all("SELECT status, count(*) AS n FROM changes GROUP BY status")) {
      counts[row.status as string] = Number(row.n);
    }
    return counts;
  }

  async oldestOpenChangeAges(now: number): Promise<Record<string, number>> {
    const ages: Record<string, number> = {};
    const rows = await this.all(
      `SELECT status, min(updated_at) AS oldest FROM changes WHERE status IN ${openStatuses} GROUP BY status`,
    );
    for (const row of rows) ages[row.status as string] = Math.max(0, now - Date.parse(row.oldest as string));
    return ages;
  }

  async countResourcesByStatus(): Promise<{ type: string; status: string; count: number }[]> {
    const rows = await this.all("SELECT type, status, count(*) AS n FROM resources GROUP BY type, status");
    return rows.map((row) => ({ type: row.type as string, status: row.status as string, count: Number(row.n) }));
  }

  async getSubscription(id: string): Promise<SubscriptionRecord | undefined> {
    const row = await this.one("SELECT * FROM subscriptions WHERE id = $1", id);
    return row && subscriptionFromRow(row);
  }

  async listSubscriptions(ownerTeam?: string): Promise<SubscriptionRecord[]> {
    const rows =
      ownerTeam === undefined
        ? await this.all("SELECT * FROM subscriptions ORDER BY created_at, id")
        : await this.all("SELECT * FROM subscriptions WHERE owner_team = $1 ORDER BY created_at, id", ownerTeam);
    return rows.map(subscriptionFromRow);
  }

  async subscriptionsFor(changeId: string | null): Promise<SubscriptionRecord[]> {
    const rows = await this.all(
      "SELECT * FROM subscriptions WHERE change_id IS NULL OR change_id = $1 ORDER BY created_at, id",
      changeId,
    );
    return rows.map(subscriptionFromRow);
  }

  async getDelivery(id: string): Promise<DeliveryRecord | undefined> {
    const row = await this.one("SELECT * FROM deliveries WHERE id = $1", id);
    return row && deliveryFromRow(row);
  }

  async dueDeliveries(now: number, limit: number): Promise<DeliveryRecord[]> {
    const rows = await this.all(
      "SELECT * FROM deliveries WHERE status = 'PENDING' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2",
      now,
      limit,
    );
    return rows.map(deliveryFromRow);
  }

  async outboxStats(now: number): Promise<{ pending: number; oldestDueMs: number }> {
    const row = await this.one(
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
    if (filter.changeId !== undefined) q.add((p) => `change_id = ${p}`, filter.changeId);
    if (filter.subscriptionId !== undefined) q.add((p) => `subscription_id = ${p}`, filter.subscriptionId);
    const max = q.next(limit);
    const rows = await this.all(
      `SELECT * FROM deliveries ${q.where()} ORDER BY created_at, id LIMIT ${max}`,
      ...q.params,
    );
    return rows.map(deliveryFromRow);
  }

  async listDeliveryAttempts(deliveryId: string): Promise<DeliveryAttemptRecord[]> {
    const rows = await this.all("SELECT * FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt", deliveryId);
    return rows.map(attemptFromRow);
  }

  async listDenials(): Promise<DenialRecord[]> {
    return (await this.all("SELECT * FROM denied_principals ORDER BY principal")).map(denialFromRow);
  }

  async getImport(id: string): Promise<ImportRecord | undefined> {
    const row = await this.one("SELECT * FROM imports WHERE id = $1", id);
    return row && importFromRow(row);
  }

  async recordingImports(): Promise<string[]> {
    const rows = await this.all("SELECT id FROM imports WHERE status = 'RECORDING' ORDER BY created_at");
    return rows.map((row) => row.id as string);
  }

  async findImportByRequest(requestedBy: string, requestId: string): Promise<ImportRecord | undefined> {
    const row = await this.one(
      "SELECT * FROM imports WHERE requested_by = $1 AND request_id = $2",
      requestedBy,
      requestId,
    );
    return row && importFromRow(row);
  }

  async getChangeSet(id: string): Promise<ChangeSetRecord | undefined> {
    const row = await this.one("SELECT * FROM change_sets WHERE id = $1", id);
    return row && changeSetFromRow(row);
  }

  async findChangeSetByRequest(requestedBy: string, requestId: string): Promise<ChangeSetRecord | undefined> {
    const row = await this.one(
      "SELECT * FROM change_sets WHERE requested_by = $1 AND request_id = $2",
      requestedBy,
      requestId,
    );
    return row && changeSetFromRow(row);
  }

  async listChangeSetMembers(changeSetId: string): Promise<ChangeRecord[]> {
    const rows = await this.all(
      "SELECT * FROM changes WHERE change_set_id = $1 ORDER BY change_set_order, seq",
      changeSetId,
    );
    return rows.map(changeFromRow);
  }

  async getChangeSetPlan(id: string): Promise<ChangeSetPlanRecord | undefined> {
    const row = await this.one("SELECT * FROM change_set_plans WHERE id = $1", id);
    return row && planFromRow(row);
  }

  async dueReviewTimers(now: number, limit: number): Promise<ReviewTimerRecord[]> {
    const rows = await this.all(
      "SELECT * FROM review_timers WHERE due_at <= $1 ORDER BY due_at, change_id, kind LIMIT $2",
      now,
      limit,
    );
    return rows.map(reviewTimerFromRow);
  }

  /** Used by transactions (StoreTx.getJob). */
  protected async jobOf(changeId: string): Promise<JobRecord | undefined> {
    const row = await this.one(`${jobSelect} WHERE j.change_id = $1`, changeId);
    return row && toJobRecord(row);
  }
}

const denialFromRow = (row: Record<string, unknown>): DenialRecord => ({
  principal: row.principal as string,
  reason: row.reason as string,
  deniedBy: row.denied_by as string,
  deniedAt: row.denied_at as string,
});
