import type {
  AuditRecord,
  DenialRecord,
  ChangeEventRecord,
  ChangeFilter,
  ChangeRecord,
  DeliveryAttemptRecord,
  DeliveryRecord,
  IdempotencyRecord,
  ImportRecord,
  JobRecord,
  Page,
  ReplicaBeat,
  ReplicaIdentity,
  ResourceFilter,
  ResourceRecord,
  ReviewTimerRecord,
  RevisionRecord,
  SubscriptionRecord,
} from "./records.ts";
import type { ChangeSetPlanRecord, ChangeSetRecord } from "./change-set-rows.ts";

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
  /**
   * For metrics: per open status (PENDING_REVIEW, APPROVED, QUEUED, APPLYING),
   * how long ago (ms) the least recently updated change in it was last updated:
   * how long the longest waiter has sat there. Statuses with no change are absent.
   */
  oldestOpenChangeAges(now: number): Promise<Record<string, number>>;
  /** For metrics: resources by type and status. */
  countResourcesByStatus(): Promise<{ type: string; status: string; count: number }[]>;
  getSubscription(id: string): Promise<SubscriptionRecord | undefined>;
  /** API subscriptions, oldest first; only one team's when `ownerTeam` is set. */
  listSubscriptions(ownerTeam?: string): Promise<SubscriptionRecord[]>;
  /** Subscriptions an event may match: every one not tied to a change, plus those tied to `changeId`. */
  subscriptionsFor(changeId: string | null): Promise<SubscriptionRecord[]>;
  getDelivery(id: string): Promise<DeliveryRecord | undefined>;
  /** PENDING deliveries whose next attempt is due at `now` (epoch ms), earliest first. */
  dueDeliveries(now: number, limit: number): Promise<DeliveryRecord[]>;
  /** Deliveries of one change or one subscription, oldest first, at most `limit`. */
  listDeliveries(filter: { changeId?: string; subscriptionId?: string }, limit: number): Promise<DeliveryRecord[]>;
  listDeliveryAttempts(deliveryId: string): Promise<DeliveryAttemptRecord[]>;
  /** Review timers due at `now` (epoch ms), earliest first. */
  dueReviewTimers(now: number, limit: number): Promise<ReviewTimerRecord[]>;
  /** Every denied principal, by id. */
  listDenials(): Promise<DenialRecord[]>;
  getImport(id: string): Promise<ImportRecord | undefined>;
  /** The ids of imports being recorded (status RECORDING), oldest first: a server finishes them. */
  recordingImports(): Promise<string[]>;
  /** The import a requester made with this request id, if any. */
  findImportByRequest(requestedBy: string, requestId: string): Promise<ImportRecord | undefined>;
  getChangeSet(id: string): Promise<ChangeSetRecord | undefined>;
  /** The change set a requester submitted with this request id, if any. */
  findChangeSetByRequest(requestedBy: string, requestId: string): Promise<ChangeSetRecord | undefined>;
  /** A change set's members, by dependency order then submission order. */
  listChangeSetMembers(changeSetId: string): Promise<ChangeRecord[]>;
  /** A stored plan, expired or not (the caller judges its expiry). */
  getChangeSetPlan(id: string): Promise<ChangeSetPlanRecord | undefined>;
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
  /** Inserts or replaces a change's job. It starts unclaimed: `claimToken` and `claims` are the store's to keep. */
  upsertJob(job: Omit<JobRecord, "claimToken" | "claims">): Promise<void>;
  deleteJob(changeId: string): Promise<void>;
  getJob(changeId: string): Promise<JobRecord | undefined>;
  /**
   * Leases the next runnable job: due (`runAfter` against the wall clock), not
   * leased or its lease expired (against the store's lease clock, which a
   * wall-clock step does not move), and no earlier open change on the same
   * resource, and (for an apply) every member of its change set with a lower
   * order succeeded. The claim gets a new `claimToken` and counts in `claims`.
   * Returns undefined when none. PostgreSQL uses the database's clock for
   * leases, so replicas whose clocks differ agree on when a lease runs out.
   */
  claimJob(owner: string, leaseMs: number): Promise<JobRecord | undefined>;
  /**
   * Extends the lease of the claim `claimToken` to `leaseMs` from now. False,
   * writing nothing, when the job is gone or another claim holds it.
   */
  renewLease(changeId: string, claimToken: number, leaseMs: number): Promise<boolean>;
  /**
   * Records that `replica` is alive now, on the store's clock (PostgreSQL: the
   * database's `now()`), on the lease lane. Its first beat dates its start.
   * Replicas silent for a week are forgotten.
   */
  beatReplica(replica: ReplicaIdentity): Promise<void>;
  /** The beats of every replica of `host` the store knows, their ages on the store's clock. */
  replicaBeats(host: string): Promise<ReplicaBeat[]>;
  appendAudit(record: AuditRecord): Promise<void>;
  /** Denies a principal (or replaces its denial's reason). */
  upsertDenial(denial: DenialRecord): Promise<void>;
  deleteDenial(principal: string): Promise<void>;
  insertImport(record: ImportRecord): Promise<void>;
  /** Writes the import's status, reviews and body; its id, requester and request id never change. */
  updateImport(record: ImportRecord): Promise<void>;
  insertChangeSet(record: ChangeSetRecord): Promise<void>;
  insertChangeSetPlan(record: ChangeSetPlanRecord): Promise<void>;
  /** Removes idempotency keys older than `before` (ISO time). */
  pruneIdempotencyKeys(before: string): Promise<number>;
  // Notifications. Ids and times come from the caller, so these return nothing.
  insertSubscription(subscription: SubscriptionRecord): Promise<void>;
  /** Removes the subscription; its deliveries stay, for the record. */
  deleteSubscription(id: string): Promise<void>;
  /** Puts an event for one subscription in the outbox. */
  insertDelivery(delivery: DeliveryRecord): Promise<void>;
  /** Writes the delivery's state (status, attempts, times, last error); the event itself never changes. */
  updateDelivery(delivery: DeliveryRecord): Promise<void>;
  insertDeliveryAttempt(attempt: DeliveryAttemptRecord): Promise<void>;
  /** Sets (or moves) the timer of this kind for the change. */
  upsertReviewTimer(timer: ReviewTimerRecord): Promise<void>;
  deleteReviewTimer(changeId: string, kind: ReviewTimerRecord["kind"]): Promise<void>;
  /** Removes DELIVERED and EXPIRED deliveries made before `before` (ISO time), with their attempts. */
  pruneDeliveries(before: string): Promise<void>;
  /**
   * Claims reconcile scope `scopeKey` (e.g. "kafka.topic/main") for round
   * `round` (a number every replica derives alike, e.g. the interval's index
   * since the epoch): true when this call made the claim, false when some
   * claim (any owner's, this one's included) already holds that round or a
   * later one, so replicas sharing a store observe each scope once per round,
   * even one that reaches a round after the others moved on.
   */
  claimReconcileScope(scopeKey: string, round: number, owner: string, at: string): Promise<boolean>;
  /**
   * Makes transactions that name the same `key` (e.g. a team's quota) run
   * one after the other from this call on, for a check over many rows that no
   * single row's lock covers. `shared` holders run beside each other and only
   * wait for (and hold off) exclusive ones. Absent where transactions already
   * run one at a time (SQLite).
   */
  lock?(key: string, mode?: "exclusive" | "shared"): Promise<void>;
}

export interface TransactOptions {
  /**
   * "lease": a lease renewal, which must not queue behind requests (a store
   * with a connection pool runs it on connections of its own; others ignore it).
   */
  lane?: "lease";
}

export interface Store extends StoreReader {
  /**
   * Runs `work` in one transaction and resolves only after it is committed.
   * Calls that arrive together may share one commit (group commit); each runs
   * in its own savepoint, so one failing rolls back only its own writes.
   * `work` must only use the store: no network or engine calls inside, and no
   * effects outside it, because a store may run it again (PostgreSQL
   * runs it again after a deadlock or a unique-key race), and the SQLite store
   * runs one transaction at a time on its one writing connection: a `work`
   * that waits on anything else holds every other writer up. Reads see the transaction's own
   * writes for point lookups and a resource's changes; list queries and
   * idempotency keys must be read before the first write.
   */
  transact<T>(work: (tx: StoreTx) => Promise<T>, options?: TransactOptions): Promise<T>;
  /**
   * For metrics: PENDING deliveries, and how long (ms) the one most overdue has
   * waited past its next attempt (0 when none is due): a backlog that only grows
   * means the outbox is stuck or its receivers are down.
   */
  outboxStats(now: number): Promise<{ pending: number; oldestDueMs: number }>;
  /** Why the store refuses all further work, or undefined while it works. */
  refusal(): string | undefined;
  close(): Promise<void>;
}
