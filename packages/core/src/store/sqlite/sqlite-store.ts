import { closeSync, constants, fdatasync, fsyncSync, mkdirSync, openSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import type {
  AuditRecord,
  ChangeEventRecord,
  ChangeFilter,
  ChangeRecord,
  IdempotencyRecord,
  JobRecord,
  ResourceFilter,
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
  /** FULL only: how often, at most, the WAL is copied into the database file while writes go on (default 1 s). */
  checkpointIntervalMs?: number;
  /** How many committed resources getResource keeps in memory (default 4096). */
  maxCachedResources?: number;
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
  claimToken: row.claim_token as number | null,
  claims: row.claims as number,
});

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
const resourceKey = (type: string, name: string) => `${type}\u0000${name}`;

/** Cached records are shared by every reader: frozen, so a caller that changes one fails loudly instead of changing everyone's. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

class SqliteTx extends SqliteReader implements StoreTx {
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
    const last = this.lastEvent.get(event.changeId);
    const sequence =
      last === undefined
        ? Number(
            this.one(
              // CAST: see the note at the top of sqlite-reader.ts.
              "SELECT coalesce(max(sequence), 0) + 1 AS s FROM change_events WHERE change_id = CAST(? AS TEXT)",
              event.changeId,
            )?.s,
          )
        : last + 1;
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
      // The claim count survives a replaced row, so the next claim's token differs from every earlier one.
      `INSERT INTO jobs (change_id, type, name, seq, run_after, lease_owner, lease_expires_at, phase, claim_token, claims)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (change_id) DO UPDATE SET
         type = excluded.type, name = excluded.name, seq = excluded.seq, run_after = excluded.run_after,
         lease_owner = excluded.lease_owner, lease_expires_at = excluded.lease_expires_at, phase = excluded.phase,
         claim_token = excluded.claim_token, claims = max(claims, excluded.claims)`,
      job.changeId,
      job.type,
      job.name,
      job.seq,
      job.runAfter,
      job.leaseOwner,
      job.leaseExpiresAt,
      job.phase,
      job.claimToken,
      job.claims,
    );
  }

  async deleteJob(changeId: string): Promise<void> {
    this.run("DELETE FROM jobs WHERE change_id = ?", changeId);
  }

  async getJob(changeId: string): Promise<JobRecord | undefined> {
    const row = this.one("SELECT * FROM jobs WHERE change_id = ?", changeId);
    return row && toJobRecord(row);
  }

  async claimJob(owner: string, leaseMs: number): Promise<JobRecord | undefined> {
    // One process owns the file, so its clock is the store's clock.
    const now = Date.now();
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
    const claimed = toJobRecord(row);
    const job = {
      ...claimed,
      leaseOwner: owner,
      leaseExpiresAt: now + leaseMs,
      claims: claimed.claims + 1,
      claimToken: claimed.claims + 1,
    };
    this.run(
      "UPDATE jobs SET lease_owner = ?, lease_expires_at = ?, claims = ?, claim_token = ? WHERE change_id = ?",
      owner,
      job.leaseExpiresAt,
      job.claims,
      job.claimToken,
      job.changeId,
    );
    return job;
  }

  async renewLease(changeId: string, claimToken: number, leaseMs: number): Promise<boolean> {
    const renewed = this.run(
      "UPDATE jobs SET lease_expires_at = ? WHERE change_id = ? AND claim_token = ? AND lease_owner IS NOT NULL",
      Date.now() + leaseMs,
      changeId,
      claimToken,
    );
    return renewed.changes === 1;
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

/** A transaction that is committed but not yet on disk: its caller hears back after the next sync. */
interface Committed {
  item: Pending;
  ok: boolean;
  value: unknown;
}

/**
 * The embedded store: one SQLite file in WAL mode, a write connection used
 * only inside transactions and a read connection that sees committed data.
 *
 * Group commit: transactions that arrive together run one after another in one
 * SQLite transaction, each in its own savepoint, and share one commit.
 *
 * Durability (synchronous FULL, the default) without stalling the event loop:
 * SQLite itself runs with `synchronous = OFF` and this class does the syncs
 * SQLite would do in FULL mode, on libuv's thread pool. After each COMMIT the
 * WAL file is `fdatasync`ed, and only then do that commit's callers hear back.
 * While a sync is on disk the next batch already executes; its callers wait
 * for a sync that starts after their COMMIT (up to two run at once).
 * Checkpoints are run here too (automatic checkpoints are off): only once
 * every commit is synced, and a read transaction on a third connection keeps
 * SQLite from writing over the copied WAL frames until the database file is
 * synced after the checkpoint; writes go on meanwhile, appending to the WAL.
 * Reads on the read connection wait until every commit made before them is
 * synced, so no caller ever sees data a power cut could take back.
 */
export class SqliteStore implements Store {
  private readonly writer: Database.Database;
  private readonly readerDb: Database.Database;
  private readonly reader: SqliteReader;
  private readonly tx: SqliteTx;
  private readonly queue: Pending[] = [];
  private flushing = false;
  private scheduled = false;
  private readonly maxBatch: number;
  /** Each checkpoint costs two syncs of the database file, and holds off writes during the second. */
  private readonly checkpointIntervalMs: number;
  /** Transaction control, prepared once: `exec` would parse the SQL again for every transaction. */
  private readonly control: Record<"begin" | "savepoint" | "release" | "rollbackTo" | "commit", Database.Statement>;

  /** FULL: the WAL and database files, synced here; undefined when SQLite syncs (NORMAL). */
  private readonly files: { wal: number; db: number } | undefined;
  /**
   * FULL: a third connection whose read transaction pins the WAL while the
   * database file syncs after a checkpoint. SQLite restarts the WAL (writes
   * over it from the start) at the first write after a checkpoint copied all
   * of it, unless a reader still uses it; until the database file is synced,
   * those frames are the only copy on disk of what the checkpoint copied.
   */
  private readonly pin: ({ db: Database.Database } & Record<"begin" | "read" | "end", Database.Statement>) | undefined;
  /** FULL: the thread that copies the WAL into the database file (checkpoint-thread.cjs); started at the first checkpoint. */
  private checkpointer: Worker | undefined;
  private readonly path: string;
  /** Committed, waiting for the next sync to start. */
  private unsynced: Committed[] = [];
  /** Commits whose sync is running, oldest first, with the callers waiting for each. */
  private readonly syncingCommits: { commits: number; waiting: Committed[] }[] = [];
  /** `fdatasync` calls running now (a sync whose callers were settled by a later one still runs). */
  private syncsRunning = 0;
  /** Two: a third measured no better (p99 of ApplyResource under load; see BENCHMARKS.md). */
  private readonly maxSyncsRunning = 2;
  private checkpointing = false;
  /**
   * The second, short pass of a checkpoint: it copies what was written while
   * the first pass's database sync ran, with writes held until the database
   * file is synced again, so that SQLite can start the WAL over (see `pin`).
   */
  private restartDue = false;
  private restarting = false;
  private lastCheckpoint = Date.now();
  private commitsAtCheckpoint = 0;
  /** Counts commits and commits known to be on disk; reads wait for the second to catch up. */
  private commits = 0;
  private durableCommits = 0;
  private readonly durableWaiters: { commits: number; resolve: () => void; reject: (error: unknown) => void }[] = [];
  /** Set when a sync failed: the kernel may have dropped the written pages, so nothing after it can be trusted. */
  private broken: Error | undefined;
  /**
   * Committed, synced resources by key, most recently used last (GetResource
   * reads the same few resources over and over; the read and the row's JSON
   * cost more than the rest of the call). Filled only in the same turn as the
   * read on the read connection, and an entry is dropped as soon as a
   * transaction that wrote that resource ends, before anyone can read the new
   * row; reads still wait for durability first, like every read.
   */
  private readonly resources = new Map<string, ResourceRecord>();
  private readonly maxCachedResources: number;

  constructor(options: SqliteStoreOptions) {
    this.path = options.path;
    mkdirSync(dirname(options.path), { recursive: true });
    const writer = new Database(options.path);
    // Only a new database takes this; an existing one keeps its page size. A submit writes about four pages
    // at random places in its indexes (resource name, identity, request id), and every commit copies each
    // page it wrote into the WAL: 2 KiB pages halve those bytes, which cost main-thread time in COMMIT.
    writer.pragma("page_size = 2048");
    writer.pragma("journal_mode = WAL");
    // SQLite syncs everything itself until the store takes over (FULL): opening may recover a WAL, and
    // that recovery must be on disk before the WAL is reused.
    writer.pragma("synchronous = FULL");
    writer.pragma("foreign_keys = ON");
    writer.pragma("busy_timeout = 5000");
    migrate(writer);
    if ((options.synchronous ?? "FULL") === "FULL") {
      writer.pragma("wal_checkpoint(TRUNCATE)");
      this.files = {
        wal: openSync(`${options.path}-wal`, constants.O_RDWR | constants.O_CREAT),
        db: openSync(options.path, constants.O_RDWR),
      };
      // The WAL's directory entry must survive a power cut too.
      const directory = openSync(dirname(options.path), constants.O_RDONLY);
      try {
        fsyncSync(directory);
      } finally {
        closeSync(directory);
      }
      writer.pragma("synchronous = OFF");
      writer.pragma("wal_autocheckpoint = 0");
    } else {
      writer.pragma("synchronous = NORMAL");
    }
    if (this.files) {
      const pin = new Database(options.path, { readonly: true });
      this.pin = {
        db: pin,
        begin: pin.prepare("BEGIN"),
        read: pin.prepare("SELECT 1 FROM sqlite_master LIMIT 1"),
        end: pin.prepare("COMMIT"),
      };
    }
    const reader = new Database(options.path, { readonly: true });
    reader.pragma("busy_timeout = 5000");
    this.writer = writer;
    this.readerDb = reader;
    this.reader = new SqliteReader(reader);
    this.tx = new SqliteTx(writer);
    this.control = {
      begin: writer.prepare("BEGIN IMMEDIATE"),
      savepoint: writer.prepare("SAVEPOINT work"),
      release: writer.prepare("RELEASE work"),
      rollbackTo: writer.prepare("ROLLBACK TO work"),
      commit: writer.prepare("COMMIT"),
    };
    this.maxBatch = options.maxBatch ?? 256;
    this.checkpointIntervalMs = options.checkpointIntervalMs ?? 1_000;
    this.maxCachedResources = options.maxCachedResources ?? 4096;
  }

  refusal(): string | undefined {
    return this.broken?.message;
  }

  transact<T>(work: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing || this.restarting) return;
    if (this.checkpointDue()) {
      // A checkpoint copies only synced commits: new writes wait for the syncs in flight, then for the copy.
      if (this.syncsRunning > 0 || this.unsynced.length > 0) return;
      this.checkpoint();
      if (this.broken || this.restarting) return;
    }
    this.scheduled = true;
    // Wait one turn of the event loop so requests that arrive together share a commit.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing = true;
    const batch = this.queue.splice(0, this.maxBatch);
    const outcomes: Committed[] = [];
    try {
      this.control.begin.run();
      this.tx.forgetWrites();
      for (const item of batch) {
        this.control.savepoint.run();
        try {
          const value = await item.work(this.tx);
          this.control.release.run();
          outcomes.push({ item, ok: true, value });
        } catch (error) {
          this.control.rollbackTo.run();
          this.tx.forgetWrites();
          this.control.release.run();
          outcomes.push({ item, ok: false, value: error });
        }
      }
      this.control.commit.run();
    } catch (error) {
      if (this.writer.inTransaction) this.writer.exec("ROLLBACK");
      this.forgetTouchedResources();
      for (const item of batch) item.reject(error);
      this.afterFlush();
      return;
    }
    this.forgetTouchedResources();
    this.commits += 1;
    // Nobody hears back before the commit is on disk: that is the durability promise.
    if (this.files) {
      this.unsynced.push(...outcomes);
      this.sync();
    } else {
      this.durableCommits = this.commits;
      settle(outcomes);
    }
    this.afterFlush();
  }

  /** Right after COMMIT (or ROLLBACK): the read connection may now see new rows for these resources. */
  private forgetTouchedResources(): void {
    for (const key of this.tx.touchedResources) this.resources.delete(key);
    this.tx.touchedResources.length = 0;
  }

  private afterFlush(): void {
    this.flushing = false;
    if (this.queue.length > 0) this.schedule();
  }

  /**
   * Group commit, second half: one fdatasync of the WAL for every commit made
   * since the last one started. A second sync may start while one runs, so a
   * commit made during a slow sync waits for its own sync rather than for the
   * slow one and then its own; a sync covers every commit made before it
   * started, so whichever finishes first settles all of those.
   */
  private sync(): void {
    const files = this.files;
    if (!files || this.unsynced.length === 0 || this.syncsRunning >= this.maxSyncsRunning) return;
    if (this.broken) {
      // After a failed sync a retry may "succeed" without the lost pages: never acknowledge on it.
      for (const { item } of this.unsynced.splice(0)) item.reject(this.broken);
      return;
    }
    const commits = this.commits;
    this.syncingCommits.push({ commits, waiting: this.unsynced });
    this.unsynced = [];
    this.syncsRunning += 1;
    fdatasync(files.wal, (error) => {
      this.syncsRunning -= 1;
      if (this.broken) return;
      if (error) return this.fail(error);
      if (commits > this.durableCommits) this.durableCommits = commits;
      while (this.syncingCommits.length > 0 && this.syncingCommits[0]!.commits <= this.durableCommits) {
        settle(this.syncingCommits.shift()!.waiting);
      }
      this.wakeReaders();
      if (this.unsynced.length > 0) this.sync();
      else if (this.syncsRunning === 0 && !this.flushing && this.checkpointDue()) this.checkpoint();
      if (this.queue.length > 0) this.schedule();
    });
  }

  private checkpointDue(): boolean {
    return (
      this.files !== undefined &&
      !this.checkpointing &&
      (this.restartDue ||
        (this.commits > this.commitsAtCheckpoint && Date.now() - this.lastCheckpoint >= this.checkpointIntervalMs))
    );
  }

  /**
   * Copies the WAL into the database file, in two passes, each only when
   * every commit is on disk. The first copies nearly everything, on the
   * checkpoint thread, and pins the WAL until the database file is synced
   * (see `pin`) while writes go on, appending to the WAL. The second, on this
   * thread, copies what those writes added and holds writes until the
   * database file is synced again: a short stall (a few pages) instead of a
   * long one, after which SQLite may start the WAL over.
   */
  private checkpoint(): void {
    const { files, pin } = this;
    if (!files || !pin || this.checkpointing) return;
    const restart = this.restartDue;
    this.checkpointing = true;
    this.restarting = restart;
    this.lastCheckpoint = Date.now();
    this.commitsAtCheckpoint = this.commits;
    if (restart) {
      try {
        this.writer.pragma("wal_checkpoint(PASSIVE)");
      } catch (error) {
        this.checkpointing = false;
        this.restarting = false;
        return this.fail(error as Error);
      }
      return this.syncDatabaseFile(true);
    }
    try {
      // Begun after the last commit, so the checkpoint can copy every frame there is, but none written later.
      pin.begin.run();
      pin.read.get();
    } catch (error) {
      this.checkpointing = false;
      return this.fail(error as Error);
    }
    const thread = this.checkpointThread();
    thread.once("message", (reply: { ok: boolean; message?: string }) => {
      if (this.broken || !reply.ok) {
        this.checkpointing = false;
        if (!reply.ok) this.fail(new Error(`checkpoint failed: ${reply.message}`));
        return;
      }
      this.syncDatabaseFile(false);
    });
    thread.postMessage("copy");
  }

  private checkpointThread(): Worker {
    if (!this.checkpointer) {
      const thread = new Worker(join(import.meta.dirname, "checkpoint-thread.cjs"), {
        workerData: { path: this.path, betterSqlite3: createRequire(import.meta.url).resolve("better-sqlite3") },
        // Plain CommonJS: no TypeScript loader needed in this thread.
        execArgv: [],
      });
      thread.on("error", (error) => {
        this.checkpointing = false;
        this.fail(error);
      });
      // Only a store being closed waits for it: it must never keep the process alive by itself.
      thread.unref();
      this.checkpointer = thread;
    }
    return this.checkpointer;
  }

  /** Second half of each pass: the copied pages reach the disk, then the WAL may be unpinned or started over. */
  private syncDatabaseFile(restart: boolean): void {
    const { files, pin } = this;
    if (!files || !pin) return;
    fdatasync(files.db, (error) => {
      this.checkpointing = false;
      this.restarting = false;
      if (error) return this.fail(error);
      if (restart) {
        this.restartDue = false;
      } else {
        try {
          pin.end.run();
        } catch (unpinError) {
          return this.fail(unpinError as Error);
        }
        // Writes made during the first pass left frames it did not copy: the WAL cannot start over yet.
        this.restartDue = this.commits > this.commitsAtCheckpoint;
      }
      if (this.restartDue && this.syncsRunning === 0 && this.unsynced.length === 0 && !this.flushing) {
        this.checkpoint();
      }
      if (this.queue.length > 0) this.schedule();
    });
  }

  private fail(error: Error): void {
    this.broken = new Error(`the store could not sync its files to disk; restart the server: ${error.message}`, {
      cause: error,
    });
    const syncing = this.syncingCommits.splice(0).flatMap((group) => group.waiting);
    for (const { item } of [...syncing, ...this.unsynced]) item.reject(this.broken);
    this.unsynced = [];
    for (const item of this.queue.splice(0)) item.reject(this.broken);
    for (const waiter of this.durableWaiters.splice(0)) waiter.reject(this.broken);
  }

  /** Resolves once every commit made so far is on disk. */
  private durable(): Promise<void> | undefined {
    if (this.broken) return Promise.reject(this.broken);
    if (this.durableCommits >= this.commits) return undefined;
    return new Promise((resolve, reject) => this.durableWaiters.push({ commits: this.commits, resolve, reject }));
  }

  private wakeReaders(): void {
    let kept = 0;
    for (const waiter of this.durableWaiters) {
      if (waiter.commits <= this.durableCommits) waiter.resolve();
      else this.durableWaiters[kept++] = waiter;
    }
    this.durableWaiters.length = kept;
  }

  /** Runs a read on the read connection once it can only see data that is on disk. */
  private read<T>(query: (reader: SqliteReader) => Promise<T>): Promise<T> {
    const waiting = this.durable();
    return waiting ? waiting.then(() => query(this.reader)) : query(this.reader);
  }

  getResource(type: string, name: string): Promise<ResourceRecord | undefined> {
    const key = resourceKey(type, name);
    return this.read(async (reader) => {
      const cached = this.resources.get(key);
      if (cached) {
        this.resources.delete(key);
        this.resources.set(key, cached);
        return cached;
      }
      const record = reader.resourceNow(type, name);
      if (record) {
        this.resources.set(key, deepFreeze(record));
        if (this.resources.size > this.maxCachedResources) {
          this.resources.delete(this.resources.keys().next().value as string);
        }
      }
      return record;
    });
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

  async close(): Promise<void> {
    while (
      this.flushing ||
      this.syncsRunning > 0 ||
      this.checkpointing ||
      this.queue.length > 0 ||
      this.unsynced.length > 0
    ) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (this.checkpointer) {
      const exited = new Promise((resolve) => this.checkpointer!.once("exit", resolve));
      // Held by the thread until it is gone: close() must finish even when nothing else keeps the process alive.
      this.checkpointer.ref();
      this.checkpointer.postMessage("close");
      await exited;
    }
    this.readerDb.close();
    this.pin?.db.close();
    if (this.files) {
      // Closing checkpoints the WAL into the database and deletes it: let SQLite sync that itself.
      this.writer.pragma("synchronous = FULL");
    }
    this.writer.close();
    if (this.files) {
      closeSync(this.files.wal);
      closeSync(this.files.db);
    }
  }
}

function settle(outcomes: Committed[]): void {
  for (const { item, ok, value } of outcomes) {
    if (ok) item.resolve(value);
    else item.reject(value);
  }
}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(options);
}
