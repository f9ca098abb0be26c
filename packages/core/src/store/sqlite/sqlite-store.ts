import { mkdirSync } from "node:fs";
import { dirname, extname } from "node:path";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import type { ChangeFilter, ResourceFilter, ResourceRecord } from "../records.ts";
import type { Store, StoreTx } from "../store.ts";
import { migrate } from "./migrate.ts";
import { PlannedTx } from "./planned-tx.ts";
import { SqliteReader } from "./sqlite-reader.ts";
import { resourceKey } from "./sqlite-tx.ts";
import type { PlannedCall, WriterReply, WriterRequest, WriterSettings } from "./writer-protocol.ts";

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

/**
 * How often one transaction may be planned before it fails. Under contention
 * for one row, one writer of it succeeds per commit and the others are
 * planned again first in line, so this bounds the contenders for one row
 * rather than the rate of anything.
 */
const maxPlans = 100;

interface Pending {
  work: (tx: StoreTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  plans: number;
}

interface Planned {
  pending: Pending;
  calls: PlannedCall[];
  value: unknown;
}

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

/**
 * The embedded store: one SQLite file in WAL mode. The main thread reads on a
 * read-only connection; the only connection that writes lives on a thread of
 * its own (writer-thread.ts), so COMMIT and its sync never hold up the event
 * loop.
 *
 * A transaction runs in two steps. First its `work` runs here against
 * committed data (with its own writes laid over it, see PlannedTx), which
 * records every store call and what it returned. Then the writer replays the
 * calls and checks that each returns the same: if so it is written, otherwise
 * the data changed since the plan and `work` runs again. Transactions that
 * arrive together share one SQLite transaction (group commit), each in its
 * own savepoint.
 *
 * Durability is SQLite's own commit protocol: nobody hears back before
 * COMMIT has returned, which at `synchronous = FULL` means the WAL is synced.
 * In WAL mode SQLite makes a commit visible to readers only once it is
 * written (and, at FULL, synced), so a read never sees a commit that a power
 * cut could take back.
 */
export class SqliteStore implements Store {
  private readonly readerDb: Database.Database;
  private readonly reader: SnapshotReader;
  private readonly writer: Worker;
  private readonly maxBatch: number;
  private readonly queue: Planned[] = [];
  /** The batch the writer has now: one at a time, so each plan can see every commit before it. */
  private inFlight: Planned[] | undefined;
  private scheduled = false;
  /** Transactions whose `work` is running (being planned). */
  private planning = 0;
  private nextSeq: number;
  private nextRequestId = 1;
  private readonly settingsWaiters = new Map<number, (reply: Extract<WriterReply, { kind: "settings" }>) => void>();
  /** Set when a commit failed: SQLite may not have the batch on disk, so the store refuses all further work. */
  private broken: Error | undefined;
  private closing = false;
  private readonly exited: Promise<void>;
  /**
   * Committed resources by key, most recently used last (GetResource reads the
   * same few resources over and over; the read and the row's JSON cost more
   * than the rest of the call). An entry is dropped when the writer reports a
   * commit that wrote that resource, before anyone hears of that commit.
   */
  private readonly resources = new Map<string, ResourceRecord>();
  private readonly maxCachedResources: number;
  private readonly leaseClock: () => number;

  constructor(options: SqliteStoreOptions) {
    mkdirSync(dirname(options.path), { recursive: true });
    const setup = new Database(options.path);
    try {
      // Only a new database takes this; an existing one keeps its page size. A submit writes about four pages
      // at random places in its indexes (resource name, identity, request id), and every commit copies each
      // page it wrote into the WAL: 2 KiB pages halve those bytes.
      setup.pragma("page_size = 2048");
      setup.pragma("journal_mode = WAL");
      setup.pragma("synchronous = FULL");
      migrate(setup);
      // The data directory belongs to one process at a time: a lease left in the file is a dead process's,
      // and it was taken on that process's lease clock, which means nothing to this one. Free it now.
      setup.prepare("UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL, claim_token = NULL").run();
      this.nextSeq = Number(setup.prepare("SELECT coalesce(max(seq), 0) + 1 AS seq FROM changes").pluck().get());
    } finally {
      setup.close();
    }
    const reader = new Database(options.path, { readonly: true });
    reader.pragma("busy_timeout = 5000");
    this.readerDb = reader;
    this.reader = new SnapshotReader(reader);
    const settings: WriterSettings = { path: options.path, synchronous: options.synchronous ?? "FULL" };
    // The thread loads TypeScript with Node's own type stripping (a packed @plinth/core ships writer-thread.js):
    // no loader of the main thread's is needed there.
    this.writer = new Worker(new URL(`./writer-thread${extname(import.meta.url)}`, import.meta.url), {
      workerData: settings,
      execArgv: [],
    });
    this.writer.on("message", (reply: WriterReply) => this.onReply(reply));
    this.writer.on("error", (error) => this.fail(error));
    this.exited = new Promise((resolve) => this.writer.once("exit", () => resolve()));
    // Held only while it has work: an idle store must not keep the process alive.
    this.writer.unref();
    this.maxBatch = options.maxBatch ?? 256;
    this.maxCachedResources = options.maxCachedResources ?? 4096;
    this.leaseClock = options.clock ?? monotonicClock;
  }

  transact<T>(work: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<T>((resolve, reject) => {
      this.plan({ work, resolve: resolve as (value: unknown) => void, reject, plans: 0 });
    });
  }

  /** Runs `work` against committed data; a transaction that wrote something goes to the writer. */
  private plan(pending: Pending): void {
    pending.plans += 1;
    this.planning += 1;
    const tx = new PlannedTx({
      reader: this.reader,
      committedResource: (type, name) => this.committedResource(type, name),
      allocateSeq: () => this.nextSeq++,
      leaseClock: this.leaseClock,
    });
    pending.work(tx).then(
      (value) => {
        this.planning -= 1;
        if (this.broken) return pending.reject(this.broken);
        if (!tx.hasWrites) return pending.resolve(value);
        // Planned again after a conflict: first in line, so that a busy row starves nobody.
        if (pending.plans > 1) this.queue.unshift({ pending, calls: tx.calls, value });
        else this.queue.push({ pending, calls: tx.calls, value });
        this.schedule();
      },
      (error: unknown) => {
        this.planning -= 1;
        pending.reject(error);
      },
    );
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight || this.queue.length === 0) return;
    this.scheduled = true;
    // Wait one turn of the event loop so transactions that arrive together share a commit.
    setImmediate(() => this.dispatch());
  }

  private dispatch(): void {
    this.scheduled = false;
    if (this.inFlight || this.queue.length === 0 || this.broken) return;
    const batch = this.queue.splice(0, this.maxBatch);
    this.inFlight = batch;
    this.writer.ref();
    const transactions = JSON.stringify(batch.map((planned) => planned.calls));
    this.send({ kind: "batch", id: this.nextRequestId++, transactions });
  }

  private send(request: WriterRequest): void {
    this.writer.postMessage(request);
  }

  private onReply(reply: WriterReply): void {
    if (reply.kind === "settings") {
      this.settingsWaiters.get(reply.id)?.(reply);
      this.settingsWaiters.delete(reply.id);
      return;
    }
    const batch = this.inFlight ?? [];
    this.inFlight = undefined;
    // Whoever hears of this commit must be able to read it.
    this.reader.endSnapshot();
    if (this.settingsWaiters.size === 0 && !this.closing) this.writer.unref();
    if (reply.kind === "failed") {
      this.fail(new Error(`the store could not commit; restart the server: ${reply.message}`));
      return;
    }
    // Before anyone hears of the commit, so no reader is served the resource as it was.
    for (const key of reply.touched) this.resources.delete(key);
    reply.results.forEach((conflict, index) => {
      const { pending, value } = batch[index]!;
      if (conflict === null) pending.resolve(value);
      else if (pending.plans >= maxPlans || this.closing) {
        pending.reject(new Error(`store: the transaction kept conflicting after ${pending.plans} plans: ${conflict}`));
      } else this.plan(pending);
    });
    this.schedule();
  }

  private fail(error: Error): void {
    this.broken ??= error;
    for (const { pending } of [...(this.inFlight ?? []), ...this.queue.splice(0)]) pending.reject(this.broken);
    this.inFlight = undefined;
  }

  refusal(): string | undefined {
    return this.broken?.message;
  }

  /** SQLite's own word on the writer connection's journal mode and sync level, for the start-up log and tests. */
  settings(): Promise<{ journalMode: string; synchronous: "OFF" | "NORMAL" | "FULL" | "EXTRA" }> {
    const id = this.nextRequestId++;
    return new Promise((resolve) => {
      this.settingsWaiters.set(id, (reply) =>
        resolve({
          journalMode: reply.journalMode,
          synchronous: (["OFF", "NORMAL", "FULL", "EXTRA"] as const)[reply.synchronous] ?? "OFF",
        }),
      );
      this.writer.ref();
      this.send({ kind: "settings", id });
    });
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
  getDenial(principal: string) {
    return this.read((r) => r.getDenial(principal));
  }
  listDenials() {
    return this.read((r) => r.listDenials());
  }
  dueReviewTimers(now: number, limit: number) {
    return this.read((r) => r.dueReviewTimers(now, limit));
  }

  /** Finishes every transaction already begun, then closes both connections. */
  async close(): Promise<void> {
    this.closing = true;
    // Held until it is gone: close() must finish even when nothing else keeps the process alive.
    this.writer.ref();
    while (this.planning > 0 || this.inFlight || this.queue.length > 0 || this.scheduled) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.reader.endSnapshot();
    this.readerDb.close();
    this.send({ kind: "close" });
    await this.exited;
  }
}

export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}
