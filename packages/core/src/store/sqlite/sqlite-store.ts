import { mkdirSync } from "node:fs";
import { dirname, extname } from "node:path";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import type { ChangeFilter, ResourceFilter, ResourceRecord } from "../records.ts";
import type { Store, StoreTx } from "../store.ts";
import { isStoreFull } from "../store-unreachable.ts";
import type { CheckpointSettings } from "./checkpoint-thread.ts";
import { migrate } from "./migrate.ts";
import { SqliteReader } from "./sqlite-reader.ts";
import { SqliteTx, resourceKey } from "./sqlite-tx.ts";

export interface SqliteStoreOptions {
  /** Database file; its directory is created if missing. */
  path: string;
  /**
   * SQLite's `synchronous` mode, applied by SQLite itself. FULL (default): an
   * acknowledged change survives a power cut. NORMAL: it survives a killed
   * process, not a power cut. See docs/operating.md.
   */
  synchronous?: "FULL" | "NORMAL";
  /** Upper bound on transactions sharing one commit. */
  maxBatch?: number;
  /** How often the checkpoint thread copies the WAL into the database file (default 1 s). */
  checkpointIntervalMs?: number;
  /** How many committed resources getResource keeps in memory (default 4096). */
  maxCachedResources?: number;
  /**
   * The lease clock, in ms: job leases are set and expired by it. Monotonic by
   * default, so that a wall-clock step (NTP, a VM resumed) neither ends a
   * lease early nor stretches it. Leases do not outlive the process that
   * holds the data directory: the store releases them when it opens.
   */
  clock?: () => number;
}

/** Monotonic, in ms; started at the wall clock only so that its values read like times in logs. */
const monotonicClock = (): number => performance.timeOrigin + performance.now();

/** Cached records are shared by every reader: frozen, so a caller that changes one fails loudly instead of changing everyone's. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * The read connection, with the reads of one turn of the event loop in one
 * read transaction: a read outside a transaction takes and drops SQLite's
 * read lock on the WAL each time, which cost more than the query. The
 * transaction ends at the next turn, and before the store hands out any
 * commit's outcome, so a caller that heard of a commit always reads it.
 */
class SnapshotReader extends SqliteReader {
  private readonly begin: Database.Statement;
  private readonly end: Database.Statement;
  private open = false;

  constructor(db: Database.Database) {
    super(db);
    this.begin = db.prepare("BEGIN");
    this.end = db.prepare("COMMIT");
  }

  private snapshot(): void {
    if (this.open) return;
    this.begin.run();
    this.open = true;
    setImmediate(() => this.endSnapshot());
  }

  endSnapshot(): void {
    if (!this.open) return;
    this.open = false;
    this.end.run();
  }

  protected override one(sql: string, ...params: unknown[]) {
    this.snapshot();
    return super.one(sql, ...params);
  }

  protected override all(sql: string, ...params: unknown[]) {
    this.snapshot();
    return super.all(sql, ...params);
  }
}

interface Pending {
  work: (tx: StoreTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * The embedded store: one SQLite file in WAL mode, written by one connection
 * on the main thread and read by a read-only one.
 *
 * Group commit: the transactions that arrive in one turn of the event loop
 * run one after another in one SQLite transaction, each in its own savepoint
 * (one that fails is rolled back alone), and share one COMMIT. While a batch
 * runs, the next turn's transactions wait for it.
 *
 * Durability is SQLite's own commit protocol: nobody hears back before
 * COMMIT has returned, which at `synchronous = FULL` means the WAL is synced.
 * In WAL mode SQLite makes a commit visible to readers only once it is
 * written (and, at FULL, synced), so a read never sees a commit that a power
 * cut could take back. Plinth syncs nothing itself: SQLite's COMMIT does, on
 * the event loop, once per batch; checkpoints do not: automatic checkpoints are off, and
 * a second connection on a thread of its own (checkpoint-thread.ts) copies
 * the WAL into the database file.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly tx: SqliteTx;
  private readonly control: Record<"begin" | "savepoint" | "release" | "rollbackTo" | "commit", Database.Statement>;
  private readonly readerDb: Database.Database;
  private readonly reader: SnapshotReader;
  private readonly checkpointer: Worker;
  private readonly checkpointerExited: Promise<void>;
  private readonly maxBatch: number;
  private readonly queue: Pending[] = [];
  private scheduled = false;
  private flushing = false;
  /** Set when a commit failed: SQLite may not have the batch on disk, so the store refuses all further work. */
  private broken: Error | undefined;
  /**
   * Committed resources by key, most recently used last (GetResource reads the
   * same few resources over and over; the read and the row's JSON cost more
   * than the rest of the call). An entry is dropped right after the COMMIT of
   * a transaction that wrote that resource, before anyone hears of it.
   */
  private readonly resources = new Map<string, ResourceRecord>();
  private readonly maxCachedResources: number;

  constructor(options: SqliteStoreOptions) {
    mkdirSync(dirname(options.path), { recursive: true });
    const synchronous = options.synchronous ?? "FULL";
    const db = new Database(options.path);
    // Only a new database takes this; an existing one keeps its page size. A submit writes about four pages
    // at random places in its indexes (resource name, identity, request id), and every commit copies each
    // page it wrote into the WAL: 2 KiB pages halve those bytes.
    db.pragma("page_size = 2048");
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    // Checkpoints are the checkpoint thread's: one here would hold up the event loop.
    db.pragma("wal_autocheckpoint = 0");
    // Keep the WAL file from staying large after a burst.
    db.pragma("journal_size_limit = 67108864");
    migrate(db);
    // The data directory belongs to one process at a time: a lease left in the file is a dead process's,
    // and it was taken on that process's lease clock, which means nothing to this one. Free it now.
    db.prepare("UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL, claim_token = NULL").run();
    // Beats too are on that clock; and no other process can be running on this store.
    db.prepare("DELETE FROM replica_beats").run();
    this.db = db;
    this.tx = new SqliteTx(db, options.clock ?? monotonicClock);
    this.control = {
      begin: db.prepare("BEGIN IMMEDIATE"),
      savepoint: db.prepare("SAVEPOINT work"),
      release: db.prepare("RELEASE work"),
      rollbackTo: db.prepare("ROLLBACK TO work"),
      commit: db.prepare("COMMIT"),
    };
    const reader = new Database(options.path, { readonly: true });
    reader.pragma("busy_timeout = 5000");
    this.readerDb = reader;
    this.reader = new SnapshotReader(reader);
    const settings: CheckpointSettings = {
      path: options.path,
      synchronous,
      intervalMs: options.checkpointIntervalMs ?? 1_000,
    };
    // The thread loads TypeScript with Node's own type stripping (a packed @plinth/core ships checkpoint-thread.js).
    this.checkpointer = new Worker(new URL(`./checkpoint-thread${extname(import.meta.url)}`, import.meta.url), {
      workerData: settings,
      execArgv: [],
    });
    this.checkpointer.on("error", (error) => this.fail(error));
    this.checkpointerExited = new Promise((resolve) => this.checkpointer.once("exit", () => resolve()));
    // An idle store must not keep the process alive.
    this.checkpointer.unref();
    this.maxBatch = options.maxBatch ?? 256;
    this.maxCachedResources = options.maxCachedResources ?? 4096;
  }

  transact<T>(work: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing || this.queue.length === 0) return;
    this.scheduled = true;
    // Wait one turn of the event loop so transactions that arrive together share a commit.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    if (this.broken) return;
    this.flushing = true;
    const batch = this.queue.splice(0, this.maxBatch);
    const outcomes: { pending: Pending; ok: boolean; value: unknown }[] = [];
    try {
      this.control.begin.run();
      this.tx.forgetWrites();
      for (const pending of batch) {
        this.control.savepoint.run();
        try {
          const value = await pending.work(this.tx);
          this.control.release.run();
          outcomes.push({ pending, ok: true, value });
        } catch (error) {
          // A full disk may have rolled back the whole transaction (SQLite's rule), not just this savepoint.
          if (isStoreFull(error)) throw error;
          this.control.rollbackTo.run();
          this.tx.forgetWrites();
          this.control.release.run();
          outcomes.push({ pending, ok: false, value: error });
        }
      }
      this.control.commit.run();
    } catch (error) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      this.tx.touchedResources.length = 0;
      this.flushing = false;
      if (isStoreFull(error)) {
        // SQLite rolled the batch back and its file is intact: refuse this batch (retryable), go on with the next.
        for (const pending of batch) pending.reject(error);
        this.schedule();
        return;
      }
      // Any other failure of a COMMIT (an I/O error in its fsync) leaves unknown what is on disk.
      this.fail(new Error(`the store could not commit; restart the server: ${String(error)}`), batch);
      return;
    }
    // Whoever hears of this commit must be able to read it, and not from the cache as it was.
    this.reader.endSnapshot();
    for (const key of this.tx.touchedResources) this.resources.delete(key);
    this.tx.touchedResources.length = 0;
    this.flushing = false;
    for (const { pending, ok, value } of outcomes) {
      if (ok) pending.resolve(value);
      else pending.reject(value);
    }
    this.schedule();
  }

  private fail(error: Error, batch: Pending[] = []): void {
    this.broken ??= error;
    for (const pending of [...batch, ...this.queue.splice(0)]) pending.reject(this.broken);
  }

  refusal(): string | undefined {
    return this.broken?.message;
  }

  /** SQLite's own word on the connection's journal mode, sync level and automatic checkpoints, for the start-up log and tests. */
  async settings(): Promise<{
    journalMode: string;
    synchronous: "OFF" | "NORMAL" | "FULL" | "EXTRA";
    walAutocheckpoint: number;
  }> {
    const synchronous = Number(this.db.pragma("synchronous", { simple: true }));
    return {
      journalMode: String(this.db.pragma("journal_mode", { simple: true })),
      synchronous: (["OFF", "NORMAL", "FULL", "EXTRA"] as const)[synchronous] ?? "OFF",
      walAutocheckpoint: Number(this.db.pragma("wal_autocheckpoint", { simple: true })),
    };
  }

  /** Reads on the read connection: committed data only. */
  private read<T>(query: (reader: SqliteReader) => Promise<T>): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    return query(this.reader);
  }

  private committedResource(type: string, name: string): ResourceRecord | undefined {
    const key = resourceKey(type, name);
    const cached = this.resources.get(key);
    if (cached) {
      this.resources.delete(key);
      this.resources.set(key, cached);
      return cached;
    }
    const record = this.reader.resourceNow(type, name);
    if (record) {
      this.resources.set(key, deepFreeze(record));
      if (this.resources.size > this.maxCachedResources) {
        this.resources.delete(this.resources.keys().next().value as string);
      }
    }
    return record;
  }

  getResource(type: string, name: string): Promise<ResourceRecord | undefined> {
    return this.read(async () => this.committedResource(type, name));
  }
  findResourceByIdentity(type: string, identity: string) {
    return this.read((r) => r.findResourceByIdentity(type, identity));
  }
  listResources(filter: ResourceFilter, pageSize: number, pageToken: string) {
    return this.read((r) => r.listResources(filter, pageSize, pageToken));
  }
  getChange(id: string) {
    return this.read((r) => r.getChange(id));
  }
  listChanges(filter: ChangeFilter, pageSize: number, pageToken: string) {
    return this.read((r) => r.listChanges(filter, pageSize, pageToken));
  }
  openChanges(type: string, name: string) {
    return this.read((r) => r.openChanges(type, name));
  }
  latestLiveChange(type: string, name: string) {
    return this.read((r) => r.latestLiveChange(type, name));
  }
  listEvents(changeId: string, afterSequence: number) {
    return this.read((r) => r.listEvents(changeId, afterSequence));
  }
  getRevision(type: string, name: string, revision: number) {
    return this.read((r) => r.getRevision(type, name, revision));
  }
  listRevisions(type: string, name: string, pageSize: number, pageToken: string) {
    return this.read((r) => r.listRevisions(type, name, pageSize, pageToken));
  }
  getIdempotencyKey(principal: string, requestId: string) {
    return this.read((r) => r.getIdempotencyKey(principal, requestId));
  }
  queueStats(now: number) {
    return this.read((r) => r.queueStats(now));
  }
  countChangesByStatus() {
    return this.read((r) => r.countChangesByStatus());
  }
  oldestOpenChangeAges(now: number) {
    return this.read((r) => r.oldestOpenChangeAges(now));
  }
  countResourcesByStatus() {
    return this.read((r) => r.countResourcesByStatus());
  }
  outboxStats(now: number) {
    return this.read((r) => r.outboxStats(now));
  }
  getSubscription(id: string) {
    return this.read((r) => r.getSubscription(id));
  }
  listSubscriptions(ownerTeam?: string) {
    return this.read((r) => r.listSubscriptions(ownerTeam));
  }
  subscriptionsFor(changeId: string | null) {
    return this.read((r) => r.subscriptionsFor(changeId));
  }
  getDelivery(id: string) {
    return this.read((r) => r.getDelivery(id));
  }
  dueDeliveries(now: number, limit: number) {
    return this.read((r) => r.dueDeliveries(now, limit));
  }
  listDeliveries(filter: { changeId?: string; subscriptionId?: string }, limit: number) {
    return this.read((r) => r.listDeliveries(filter, limit));
  }
  listDeliveryAttempts(deliveryId: string) {
    return this.read((r) => r.listDeliveryAttempts(deliveryId));
  }
  listDenials() {
    return this.read((r) => r.listDenials());
  }
  getImport(id: string) {
    return this.read((r) => r.getImport(id));
  }
  recordingImports() {
    return this.read((r) => r.recordingImports());
  }
  findImportByRequest(requestedBy: string, requestId: string) {
    return this.read((r) => r.findImportByRequest(requestedBy, requestId));
  }
  getChangeSet(id: string) {
    return this.read((r) => r.getChangeSet(id));
  }
  findChangeSetByRequest(requestedBy: string, requestId: string) {
    return this.read((r) => r.findChangeSetByRequest(requestedBy, requestId));
  }
  listChangeSetMembers(changeSetId: string) {
    return this.read((r) => r.listChangeSetMembers(changeSetId));
  }
  getChangeSetPlan(id: string) {
    return this.read((r) => r.getChangeSetPlan(id));
  }
  dueReviewTimers(now: number, limit: number) {
    return this.read((r) => r.dueReviewTimers(now, limit));
  }

  /** Finishes every transaction already begun, then closes the connections. */
  async close(): Promise<void> {
    // Held until it is gone: close() must finish even when nothing else keeps the process alive.
    this.checkpointer.ref();
    while (this.flushing || this.scheduled || (this.queue.length > 0 && !this.broken)) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.checkpointer.postMessage("close");
    await this.checkpointerExited;
    this.reader.endSnapshot();
    this.readerDb.close();
    // The last connection to close checkpoints the WAL into the database and removes it, synced at this level.
    this.db.close();
  }
}

export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}
