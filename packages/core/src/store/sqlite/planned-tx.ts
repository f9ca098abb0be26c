import type {
  AuditRecord,
  ChangeEventRecord,
  DenialRecord,
  ChangeFilter,
  ChangeRecord,
  DeliveryAttemptRecord,
  DeliveryRecord,
  IdempotencyRecord,
  JobRecord,
  Page,
  ResourceFilter,
  ResourceRecord,
  ReviewTimerRecord,
  RevisionRecord,
  SubscriptionRecord,
} from "../records.ts";
import type { StoreTx } from "../store.ts";
import { deliveryFromRow, deliveryToRow, subscriptionFromRow, subscriptionToRow } from "./notification-rows.ts";
import { changeFromRow, changeToRow, jobFromRecord, resourceFromRow, resourceToRow } from "./rows.ts";
import type { SqliteReader } from "./sqlite-reader.ts";
import { resourceKey } from "./sqlite-tx.ts";
import type { PlannedCall } from "./writer-protocol.ts";

const openStatuses = new Set(["PENDING_REVIEW", "APPROVED", "QUEUED", "APPLYING"]);
const deadStatuses = new Set(["REJECTED", "CANCELLED", "FAILED"]);

/** What a planned transaction needs from its store besides the read connection. */
export interface PlanningContext {
  reader: SqliteReader;
  /** A committed resource, through the store's cache. */
  committedResource(type: string, name: string): ResourceRecord | undefined;
  /** The next change `seq`: allocated by the one process that writes (the data directory is locked). */
  allocateSeq(): number;
  /** The lease clock (monotonic): its reading goes to the writer with the claim, as data. */
  leaseClock(): number;
}

/**
 * A transaction as planned on the main thread: reads come from committed
 * data, with this transaction's own writes laid over them, and every call is
 * recorded, with the result it returned, for the writer thread to replay and
 * check (writer-thread.ts). Point reads and the per-resource change queries
 * see the transaction's own writes; the other queries may only come before
 * its first write.
 */
export class PlannedTx implements StoreTx {
  readonly calls: PlannedCall[] = [];
  private wrote = false;
  private readonly resources = new Map<string, ResourceRecord | null>();
  private readonly changes = new Map<string, ChangeRecord>();
  private readonly jobs = new Map<string, JobRecord | null>();
  private readonly lastEvents = new Map<string, number>();
  private readonly claimCounts = new Map<string, number>();
  private readonly subscriptions = new Map<string, SubscriptionRecord | null>();
  private readonly deliveries = new Map<string, DeliveryRecord>();
  /** The latest round this transaction claimed, by scope. */
  private readonly reconcileClaims = new Map<string, number>();

  constructor(private readonly context: PlanningContext) {}

  get hasWrites(): boolean {
    return this.wrote;
  }

  /** Records a read with its result, which the writer must see again. */
  private read<T>(method: string, args: unknown[], result: T): T {
    this.calls.push([method, args, JSON.stringify(result ?? null)]);
    return result;
  }

  private write(method: string, args: unknown[], expected?: unknown): void {
    this.wrote = true;
    this.calls.push([method, args, expected === undefined ? null : JSON.stringify(expected)]);
  }

  /** For the queries that have no view of this transaction's writes. */
  private beforeWrites(method: string): void {
    if (this.wrote) {
      throw new Error(`store: ${method} cannot read after a write in the same transaction; read it first`);
    }
  }

  private get reader(): SqliteReader {
    return this.context.reader;
  }

  async getResource(type: string, name: string): Promise<ResourceRecord | undefined> {
    const key = resourceKey(type, name);
    const own = this.resources.get(key);
    const result = own === undefined ? this.context.committedResource(type, name) : (own ?? undefined);
    return this.read("getResource", [type, name], result);
  }

  async findResourceByIdentity(type: string, identity: string): Promise<ResourceRecord | undefined> {
    const live = (r: ResourceRecord | null | undefined) =>
      r && r.type === type && r.identity === identity && r.status !== "DELETED" ? r : undefined;
    let found = await this.reader.findResourceByIdentity(type, identity);
    if (found && this.resources.has(resourceKey(found.type, found.name))) {
      found = live(this.resources.get(resourceKey(found.type, found.name)));
    }
    found ??= [...this.resources.values()].find((r) => live(r)) ?? undefined;
    return this.read("findResourceByIdentity", [type, identity], found);
  }

  async listResources(filter: ResourceFilter, pageSize: number, pageToken: string): Promise<Page<ResourceRecord>> {
    this.beforeWrites("listResources");
    return this.read(
      "listResources",
      [filter, pageSize, pageToken],
      await this.reader.listResources(filter, pageSize, pageToken),
    );
  }

  async getChange(id: string): Promise<ChangeRecord | undefined> {
    return this.read("getChange", [id], this.changes.get(id) ?? (await this.reader.getChange(id)));
  }

  async listChanges(filter: ChangeFilter, pageSize: number, pageToken: string): Promise<Page<ChangeRecord>> {
    this.beforeWrites("listChanges");
    return this.read(
      "listChanges",
      [filter, pageSize, pageToken],
      await this.reader.listChanges(filter, pageSize, pageToken),
    );
  }

  /** Every change to one resource as this transaction sees it, in `seq` order, or undefined when it wrote none of them. */
  private ownView(type: string, name: string): ChangeRecord[] | undefined {
    const own = [...this.changes.values()].filter((c) => c.type === type && c.name === name);
    if (own.length === 0) return undefined;
    const merged = new Map(this.reader.changesOf(type, name).map((c) => [c.id, c]));
    for (const change of own) merged.set(change.id, change);
    return [...merged.values()].sort((a, b) => a.seq - b.seq);
  }

  async openChanges(type: string, name: string): Promise<ChangeRecord[]> {
    const view = this.ownView(type, name);
    const result = view ? view.filter((c) => openStatuses.has(c.status)) : await this.reader.openChanges(type, name);
    return this.read("openChanges", [type, name], result);
  }

  async latestLiveChange(type: string, name: string): Promise<ChangeRecord | undefined> {
    const view = this.ownView(type, name);
    const result = view
      ? view.filter((c) => !deadStatuses.has(c.status)).at(-1)
      : await this.reader.latestLiveChange(type, name);
    return this.read("latestLiveChange", [type, name], result);
  }

  async listEvents(changeId: string, afterSequence: number): Promise<ChangeEventRecord[]> {
    this.beforeWrites("listEvents");
    return this.read("listEvents", [changeId, afterSequence], await this.reader.listEvents(changeId, afterSequence));
  }

  async getRevision(type: string, name: string, revision: number): Promise<RevisionRecord | undefined> {
    this.beforeWrites("getRevision");
    return this.read("getRevision", [type, name, revision], await this.reader.getRevision(type, name, revision));
  }

  async listRevisions(type: string, name: string, pageSize: number, pageToken: string): Promise<Page<RevisionRecord>> {
    this.beforeWrites("listRevisions");
    return this.read(
      "listRevisions",
      [type, name, pageSize, pageToken],
      await this.reader.listRevisions(type, name, pageSize, pageToken),
    );
  }

  async getIdempotencyKey(principal: string, requestId: string): Promise<IdempotencyRecord | undefined> {
    this.beforeWrites("getIdempotencyKey");
    return this.read(
      "getIdempotencyKey",
      [principal, requestId],
      await this.reader.getIdempotencyKey(principal, requestId),
    );
  }

  async queueStats(now: number): Promise<{ depth: number; oldestAgeMs: number }> {
    this.beforeWrites("queueStats");
    return this.read("queueStats", [now], await this.reader.queueStats(now));
  }

  async countChangesByStatus(): Promise<Record<string, number>> {
    this.beforeWrites("countChangesByStatus");
    return this.read("countChangesByStatus", [], await this.reader.countChangesByStatus());
  }

  async oldestOpenChangeAges(now: number): Promise<Record<string, number>> {
    this.beforeWrites("oldestOpenChangeAges");
    return this.read("oldestOpenChangeAges", [now], await this.reader.oldestOpenChangeAges(now));
  }

  async countResourcesByStatus(): Promise<{ type: string; status: string; count: number }[]> {
    this.beforeWrites("countResourcesByStatus");
    return this.read("countResourcesByStatus", [], await this.reader.countResourcesByStatus());
  }

  async getJob(changeId: string): Promise<JobRecord | undefined> {
    const own = this.jobs.get(changeId);
    const result = own === undefined ? await this.reader.getJob(changeId) : (own ?? undefined);
    return this.read("getJob", [changeId], result);
  }

  async claimJob(owner: string, leaseMs: number): Promise<JobRecord | undefined> {
    const leaseNow = this.context.leaseClock();
    const wallNow = Date.now();
    // Jobs this transaction already wrote or deleted are not claimable again within it.
    const candidates = this.reader.claimableJobs(leaseNow, wallNow, this.jobs.size + 1);
    const next = candidates.find((job) => !this.jobs.has(job.changeId));
    const token = next && this.claimsOf(next.changeId) + 1;
    const claimed =
      next &&
      jobFromRecord({
        ...next,
        leaseOwner: owner,
        leaseExpiresAt: leaseNow + leaseMs,
        claimToken: token!,
        claims: token!,
      });
    if (claimed) {
      this.jobs.set(claimed.changeId, claimed);
      this.claimCounts.set(claimed.changeId, claimed.claims);
    }
    this.write("claimJobAt", [owner, leaseNow, wallNow, leaseMs], claimed ?? null);
    return claimed;
  }

  async renewLease(changeId: string, claimToken: number, leaseMs: number): Promise<boolean> {
    const leaseNow = this.context.leaseClock();
    const job = this.jobs.has(changeId) ? this.jobs.get(changeId) : await this.reader.getJob(changeId);
    const renewed = !!job && job.claimToken === claimToken;
    if (renewed) this.jobs.set(changeId, { ...job, leaseExpiresAt: leaseNow + leaseMs });
    this.write("renewLeaseAt", [changeId, claimToken, leaseNow, leaseMs], renewed);
    return renewed;
  }

  /** A change's claim count as this transaction sees it. */
  private claimsOf(changeId: string): number {
    return this.claimCounts.get(changeId) ?? this.reader.claimsOf(changeId);
  }

  async upsertResource(resource: ResourceRecord): Promise<void> {
    this.resources.set(resourceKey(resource.type, resource.name), resourceFromRow(resourceToRow(resource)));
    this.write("upsertResource", [resource]);
  }

  async deleteResource(type: string, name: string): Promise<void> {
    this.resources.set(resourceKey(type, name), null);
    this.write("deleteResource", [type, name]);
  }

  async insertChange(change: Omit<ChangeRecord, "seq">): Promise<ChangeRecord> {
    const record: ChangeRecord = { ...change, seq: this.context.allocateSeq() };
    this.changes.set(record.id, changeFromRow(changeToRow(record)));
    this.lastEvents.set(record.id, 0);
    this.write("insertChange", [record]);
    return record;
  }

  async updateChange(change: ChangeRecord): Promise<void> {
    this.changes.set(change.id, changeFromRow(changeToRow(change)));
    this.write("updateChange", [change]);
  }

  async appendEvent(event: Omit<ChangeEventRecord, "sequence">): Promise<ChangeEventRecord> {
    const sequence = (this.lastEvents.get(event.changeId) ?? this.reader.lastEventSequence(event.changeId)) + 1;
    this.lastEvents.set(event.changeId, sequence);
    const record = { ...event, sequence };
    // The writer numbers the event itself: a different number means another event came first.
    this.write("appendEvent", [event], record);
    return record;
  }

  async insertRevision(revision: RevisionRecord): Promise<void> {
    this.write("insertRevision", [revision]);
  }

  async insertIdempotencyKey(key: IdempotencyRecord): Promise<void> {
    this.write("insertIdempotencyKey", [key]);
  }

  async upsertJob(job: Omit<JobRecord, "claimToken" | "claims">): Promise<void> {
    // A job starts unclaimed; its change's claim count carries over.
    this.jobs.set(job.changeId, jobFromRecord({ ...job, claimToken: null, claims: this.claimsOf(job.changeId) }));
    this.write("upsertJob", [job]);
  }

  async deleteJob(changeId: string): Promise<void> {
    this.jobs.set(changeId, null);
    this.write("deleteJob", [changeId]);
  }

  async appendAudit(record: AuditRecord): Promise<void> {
    this.write("appendAudit", [record]);
  }

  async pruneIdempotencyKeys(before: string): Promise<number> {
    // How many there are now; the writer deletes those there are then (pruning is housekeeping).
    const count = this.reader.countIdempotencyKeysBefore(before);
    this.write("pruneIdempotencyKeys", [before]);
    return count;
  }

  async getSubscription(id: string): Promise<SubscriptionRecord | undefined> {
    const own = this.subscriptions.get(id);
    const result = own === undefined ? await this.reader.getSubscription(id) : (own ?? undefined);
    return this.read("getSubscription", [id], result);
  }

  async listSubscriptions(ownerTeam?: string): Promise<SubscriptionRecord[]> {
    this.beforeWrites("listSubscriptions");
    return this.read("listSubscriptions", [ownerTeam], await this.reader.listSubscriptions(ownerTeam));
  }

  /** A callback subscription is written in the change's own transaction, then matched against its first event. */
  async subscriptionsFor(changeId: string | null): Promise<SubscriptionRecord[]> {
    const found = new Map((await this.reader.subscriptionsFor(changeId)).map((s) => [s.id, s]));
    for (const [id, own] of this.subscriptions) {
      if (own === null) found.delete(id);
      else if (own.changeId === null || own.changeId === changeId) found.set(id, own);
    }
    const result = [...found.values()].sort((a, b) =>
      a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1,
    );
    return this.read("subscriptionsFor", [changeId], result);
  }

  async getDelivery(id: string): Promise<DeliveryRecord | undefined> {
    return this.read("getDelivery", [id], this.deliveries.get(id) ?? (await this.reader.getDelivery(id)));
  }

  async dueDeliveries(now: number, limit: number): Promise<DeliveryRecord[]> {
    this.beforeWrites("dueDeliveries");
    return this.read("dueDeliveries", [now, limit], await this.reader.dueDeliveries(now, limit));
  }

  async listDeliveries(
    filter: { changeId?: string; subscriptionId?: string },
    limit: number,
  ): Promise<DeliveryRecord[]> {
    this.beforeWrites("listDeliveries");
    return this.read("listDeliveries", [filter, limit], await this.reader.listDeliveries(filter, limit));
  }

  async listDeliveryAttempts(deliveryId: string): Promise<DeliveryAttemptRecord[]> {
    this.beforeWrites("listDeliveryAttempts");
    return this.read("listDeliveryAttempts", [deliveryId], await this.reader.listDeliveryAttempts(deliveryId));
  }

  async getDenial(principal: string): Promise<DenialRecord | undefined> {
    this.beforeWrites("getDenial");
    return this.read("getDenial", [principal], await this.reader.getDenial(principal));
  }

  async listDenials(): Promise<DenialRecord[]> {
    this.beforeWrites("listDenials");
    return this.read("listDenials", [], await this.reader.listDenials());
  }

  async upsertDenial(denial: DenialRecord): Promise<void> {
    this.write("upsertDenial", [denial]);
  }

  async deleteDenial(principal: string): Promise<void> {
    this.write("deleteDenial", [principal]);
  }

  async dueReviewTimers(now: number, limit: number): Promise<ReviewTimerRecord[]> {
    this.beforeWrites("dueReviewTimers");
    return this.read("dueReviewTimers", [now, limit], await this.reader.dueReviewTimers(now, limit));
  }

  async insertSubscription(subscription: SubscriptionRecord): Promise<void> {
    this.subscriptions.set(subscription.id, subscriptionFromRow(subscriptionToRow(subscription)));
    this.write("insertSubscription", [subscription]);
  }

  async deleteSubscription(id: string): Promise<void> {
    this.subscriptions.set(id, null);
    this.write("deleteSubscription", [id]);
  }

  async insertDelivery(delivery: DeliveryRecord): Promise<void> {
    this.deliveries.set(delivery.id, deliveryFromRow(deliveryToRow(delivery)));
    this.write("insertDelivery", [delivery]);
  }

  async updateDelivery(delivery: DeliveryRecord): Promise<void> {
    const current = this.deliveries.get(delivery.id) ?? (await this.reader.getDelivery(delivery.id));
    // Only the columns an update writes change; the rest stay as stored.
    if (current) {
      const { status, attempts, nextAttemptAt, expiresAt, lastError, lastStatusCode, deliveredAt } = delivery;
      const next = { ...current, status, attempts, nextAttemptAt, expiresAt, lastError, lastStatusCode, deliveredAt };
      this.deliveries.set(delivery.id, next);
    }
    this.write("updateDelivery", [delivery]);
  }

  async insertDeliveryAttempt(attempt: DeliveryAttemptRecord): Promise<void> {
    this.write("insertDeliveryAttempt", [attempt]);
  }

  async upsertReviewTimer(timer: ReviewTimerRecord): Promise<void> {
    this.write("upsertReviewTimer", [timer]);
  }

  async deleteReviewTimer(changeId: string, kind: ReviewTimerRecord["kind"]): Promise<void> {
    this.write("deleteReviewTimer", [changeId, kind]);
  }

  async pruneDeliveries(before: string): Promise<void> {
    this.write("pruneDeliveries", [before]);
  }

  async claimReconcileScope(scopeKey: string, round: number, owner: string, at: string): Promise<boolean> {
    const claimed =
      (this.reconcileClaims.get(scopeKey) ?? -Infinity) < round &&
      !(await this.reader.reconcileScopeClaimed(scopeKey, round));
    if (claimed) this.reconcileClaims.set(scopeKey, round);
    // The writer claims again and must get the same answer, or the transaction is planned again.
    this.write("claimReconcileScope", [scopeKey, round, owner, at], claimed);
    return claimed;
  }
}
