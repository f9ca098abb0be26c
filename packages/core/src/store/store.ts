import type {
  AuditRecord,
  ChangeEventRecord,
  ChangeFilter,
  ChangeRecord,
  IdempotencyRecord,
  JobRecord,
  Page,
  ResourceFilter,
  ResourceRecord,
  RevisionRecord,
} from "./records.ts";

/** Reads. Outside a transaction they see committed data only. */
export interface StoreReader {
  getResource(type: string, name: string): Promise<ResourceRecord | undefined>;
  findResourceByIdentity(type: string, identity: string): Promise<ResourceRecord | undefined>;
  listResources(filter: ResourceFilter, pageSize: number, pageToken: string): Promise<Page<ResourceRecord>>;
  getChange(id: string): Promise<ChangeRecord | undefined>;
  listChanges(filter: ChangeFilter, pageSize: number, pageToken: string): Promise<Page<ChangeRecord>>;
  /** Changes to one resource that are not final, in submission order. */
  openChanges(type: string, name: string): Promise<ChangeRecord[]>;
  /** The most recent change to one resource that was not rejected, cancelled or failed. */
  latestLiveChange(type: string, name: string): Promise<ChangeRecord | undefined>;
  listEvents(changeId: string, afterSequence: number): Promise<ChangeEventRecord[]>;
  getRevision(type: string, name: string, revision: number): Promise<RevisionRecord | undefined>;
  listRevisions(type: string, name: string, pageSize: number, pageToken: string): Promise<Page<RevisionRecord>>;
  getIdempotencyKey(principal: string, requestId: string): Promise<IdempotencyRecord | undefined>;
  /** Jobs waiting or running, for metrics: count and the age of the oldest (ms). */
  queueStats(now: number): Promise<{ depth: number; oldestAgeMs: number }>;
  countChangesByStatus(): Promise<Record<string, number>>;
}

/** Writes, always inside `Store.transact`. */
export interface StoreTx extends StoreReader {
  upsertResource(resource: ResourceRecord): Promise<void>;
  deleteResource(type: string, name: string): Promise<void>;
  /** Inserts a change and assigns its `seq`; returns it. */
  insertChange(change: Omit<ChangeRecord, "seq">): Promise<ChangeRecord>;
  updateChange(change: ChangeRecord): Promise<void>;
  appendEvent(event: Omit<ChangeEventRecord, "sequence">): Promise<ChangeEventRecord>;
  insertRevision(revision: RevisionRecord): Promise<void>;
  insertIdempotencyKey(key: IdempotencyRecord): Promise<void>;
  upsertJob(job: JobRecord): Promise<void>;
  deleteJob(changeId: string): Promise<void>;
  getJob(changeId: string): Promise<JobRecord | undefined>;
  /**
   * Leases the next runnable job: due, not leased (or lease expired), and no
   * earlier open change on the same resource. Returns undefined when none.
   * Times are the store's clock (PostgreSQL: the database's `now()`), so
   * replicas whose clocks differ agree on when a lease runs out. Each claim
   * sets a new `claimToken`.
   */
  claimJob(owner: string, leaseMs: number): Promise<JobRecord | undefined>;
  /**
   * Extends the lease of the claim `claimToken` by `leaseMs` from now.
   * False, writing nothing, when that claim no longer holds (the job was
   * claimed again, released or deleted).
   */
  renewLease(changeId: string, claimToken: number, leaseMs: number): Promise<boolean>;
  appendAudit(record: AuditRecord): Promise<void>;
  /** Removes idempotency keys older than `before` (ISO time). */
  pruneIdempotencyKeys(before: string): Promise<number>;
}

export interface Store extends StoreReader {
  /**
   * Runs `work` in one transaction and resolves only after it is committed.
   * Calls that arrive together may share one commit (group commit); each runs
   * in its own savepoint, so one failing rolls back only its own writes.
   * `work` must only use the store: no network or engine calls inside. It
   * may run more than once (PostgreSQL retries it after a serialization
   * conflict), so it must not change anything outside the store.
   */
  transact<T>(work: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Why the store refuses all work (e.g. the database was migrated by a newer Plinth), or undefined. */
  refusal(): string | undefined;
  close(): Promise<void>;
}
