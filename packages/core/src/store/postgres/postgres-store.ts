import pg from "pg";
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
import { deliveryFromRow, deliveryToRow, subscriptionFromRow, subscriptionToRow } from "../sqlite/notification-rows.ts";
import {
  type ChangeSetPlanRecord,
  type ChangeSetRecord,
  changeSetBody,
  changeSetTurn,
  planBody,
} from "../change-set-rows.ts";
import {
  type Row,
  changeToRow,
  replicaBeatFromRow,
  json,
  resourceToRow,
  revisionToRow,
  toJobRecord,
} from "../sqlite/rows.ts";
import type { Store, StoreTx, TransactOptions } from "../store.ts";
import { importBody } from "../import-rows.ts";
import { DeferredWrites } from "./deferred-writes.ts";
import { migrate } from "./migrate.ts";
import { PostgresReader, type Queryable, openStatuses, prepared } from "./postgres-reader.ts";

/*
 * Concurrency on PostgreSQL: READ COMMITTED transactions plus explicit locks.
 *
 * Why not SERIALIZABLE: its predicate locks are taken per B-tree page (or per
 * table, on a sequential scan), so submissions to different resources that
 * read and insert on the same index pages were cancelled "as a pivot" over
 * and over: 300 submissions to 300 resources from 20 loops cost 1,275
 * serialization retries, and some ran out of attempts (docs/operating.md).
 *
 * Every statement of a READ COMMITTED transaction sees what was committed when
 * it started. The rules below make each transaction's reads still true when
 * it commits, so concurrent transactions behave as if they ran one at a time,
 * which is what the SQLite store guarantees:
 *
 * 1. Resource lock. Everything that belongs to one resource (its row, its
 *    changes, their jobs, events and revisions) is read and written only under
 *    that resource's advisory lock (`pg_advisory_xact_lock`, held until the
 *    transaction ends). `getResource` takes it before it reads, so a
 *    submission locks before it looks at the resource; `getChange` and
 *    `getJob` take the lock of the change's resource and read again;
 *    `claimJob` only tries it and moves on when it is held. A lock before the
 *    read also covers a resource that does not exist yet (a create). So two
 *    submissions to one resource run one after the other and the second sees
 *    the first's change (per-resource FIFO, one CREATE), seq numbers rise in
 *    commit order within a resource, and a change's event numbers
 *    (max + 1) never clash. Submissions to different resources share no lock.
 * 2. One resource lock per transaction, at most: every transaction the
 *    service runs touches one resource (a replayed request locks the resource
 *    of the change it returns, and locks nothing else). Then no two
 *    transactions wait for each other's resource locks. A claim may keep the
 *    locks of resources it tried and found taken by another replica's claim,
 *    but it never waits for one (it tries), least of all while it holds
 *    rows; and every other writer of a resource's rows takes the resource
 *    lock first, so there are no lock-order deadlocks either. A deadlock
 *    (40P01) is still run again. The one exception is a change set's submit
 *    (submit-change-set.ts): it takes all its resources' locks first, sorted
 *    by (type, name), before any other lock, so two sets never wait for each
 *    other's resource locks; a set's quota locks taken in another order than a
 *    second set's would be a 40P01, run again.
 * 3. Other locks come after the resource lock, in this order: `lock(key)`
 *    for what the domain names, first the reaches lock (grants and the
 *    resources they would reach, see grant-exposure.ts; shared by submissions
 *    of types without reaches), then a team's quota on one type and scope
 *    (creates by one team take turns, see team-quota.ts); and FOR UPDATE on the rows that belong to
 *    no resource and are read then written (deliveries, subscriptions), so two
 *    replicas working on one take turns. A change's review timers belong to
 *    its resource (rule 1): the timers' transaction takes the resource lock
 *    (getChange) before it reads them, never a row lock first.
 * 4. Constraints deduplicate what no lock covers: a request's idempotency key
 *    (primary key) and a live identity (unique index) inserted by two
 *    transactions at once. A submission reads its request's key only once it
 *    holds the resource lock, so a duplicate that waited for the first's lock
 *    sees the first's key (a replay) before it judges the resource. The second waits for the first and fails 23505;
 *    run again, it sees the first's row (a replay, ALREADY_EXISTS).
 *    `seq` comes from a sequence, never max + 1. A reconcile claim is one
 *    upsert that only moves a scope's round forward. Lease renewals are one
 *    conditional UPDATE.
 * 5. Reads that are not a resource's own state (lists, `latestLiveChange` of
 *    another resource for a quota or a reach) take no lock: a lookup reads
 *    what is committed, and a quota check holds its team lock while it does.
 *
 * 6. Writes whose result the caller does not wait for (a resource upsert, a
 *    change update, a job, an event whose number the transaction knows...)
 *    are held back and sent with the transaction's next statement, or before
 *    COMMIT (deferred-writes.ts): never with or after a lock taken later, so
 *    locks and writes keep the order the rules above give them.
 *
 * `transactionRetries()` counts the transactions run again, by SQLSTATE
 * (plinth_store_transaction_retries_total): with these rules, submissions to
 * different resources never retry.
 */

export interface PostgresStoreOptions {
  /** Where the database is: a `postgres://` URL, or the parts (`password` read by the caller, e.g. from an environment variable). */
  connection: { url: string } | { host: string; port: number; database: string; user: string; password?: string };
  /** Connections kept open (default 10). Each running transaction holds one. */
  poolSize?: number;
  /** Told about errors on idle connections (e.g. the server went away); the pool replaces them. */
  onConnectionError?: (error: Error) => void;
  /** Bounds on waiting (defaults in `defaultTimeouts`); past one, the work fails as unavailable (retryable). */
  timeouts?: Partial<PostgresTimeouts>;
}

export interface PostgresTimeouts {
  /** lock_timeout: waiting for a resource's or a row's lock held by another session (maybe a paused replica). */
  lockMs: number;
  /** statement_timeout. */
  statementMs: number;
  /** idle_in_transaction_session_timeout: the server ends a session that stopped inside a transaction, and its locks. */
  idleInTransactionMs: number;
  /** Opening a connection, or waiting for a free one in the pool. */
  connectMs: number;
}

export const defaultTimeouts: PostgresTimeouts = {
  lockMs: 5_000,
  statementMs: 30_000,
  idleInTransactionMs: 15_000,
  connectMs: 15_000,
};

/** Connections kept for lease renewals: each is one short UPDATE, so two cover every job a replica runs at once. */
const leasePoolSize = 2;

/**
 * No connection within the connect timeout (the server does not answer, or
 * every pooled connection is busy): SQLSTATE 08001 ("unable to establish
 * connection"), which callers treat as unavailable, with pg's error as cause.
 */
class NoConnectionError extends Error {
  readonly code = "08001";
  override name = "NoConnectionError";
}

async function checkOut(pool: pg.Pool, timeoutMs: number): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (error) {
    throw new NoConnectionError(`no PostgreSQL connection within ${timeoutMs} ms: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The pool as the reader's `Queryable`: one statement per checkout, a failed checkout as `NoConnectionError`. */
function pooledQueries(pool: pg.Pool, timeoutMs: number): Queryable {
  return {
    async query(query, values) {
      const client = await checkOut(pool, timeoutMs);
      try {
        const result = await client.query(query as string, values);
        client.release();
        return result;
      } catch (error) {
        // As pg's own pool.query: a connection whose statement failed is not handed out again.
        client.release(error as Error);
        throw error;
      }
    },
  };
}

/** The database's clock in epoch ms, in the same unit as the jobs' times. */
const clockMs = "(extract(epoch FROM now()) * 1000)::bigint";

const int8 = 20;
const jsonOid = 114;
const jsonbOid = 3802;
/**
 * Rows in the shape the shared row mapping expects: bigints as numbers (seq
 * and epoch ms stay far below 2^53) and JSON columns as their text.
 */
const rowTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    if (oid === int8) return (value: string) => Number(value);
    if (oid === jsonOid || oid === jsonbOid) return (value: string) => value;
    return pg.types.getTypeParser(oid, format as "text");
  }) as typeof pg.types.getTypeParser,
};

// SQLSTATEs after which running the whole transaction again is safe and may succeed. A serialization
// failure is not raised under READ COMMITTED on PostgreSQL; databases that run every transaction
// serializable (CockroachDB) do.
const serializationFailure = "40001";
const deadlockDetected = "40P01";
const uniqueViolation = "23505";
const maxAttempts = 30;
/**
 * A unique key taken by a transaction that committed meanwhile (a request's
 * idempotency key, a live identity): run again, the transaction sees the
 * other's row and decides as if they had run one after the other (a replay,
 * ALREADY_EXISTS). A clash that is not a race (two resources given one
 * identity) fails again at once: a few attempts tell them apart.
 */
const maxUniqueAttempts = 3;

function retryable(error: unknown, attempt: number): boolean {
  if (attempt >= maxAttempts) return false;
  const { code } = error as { code?: string };
  if (code === serializationFailure || code === deadlockDetected) return true;
  return code === uniqueViolation && attempt < maxUniqueAttempts;
}

function connectionConfig(options: PostgresStoreOptions): pg.ClientConfig {
  const { connection } = options;
  return "url" in connection ? { connectionString: connection.url } : { ...connection };
}

/** Every session of the store's pools: waits bounded, so a paused session's locks cost others a bounded wait. */
function boundedConfig(options: PostgresStoreOptions): pg.ClientConfig {
  const timeouts = { ...defaultTimeouts, ...options.timeouts };
  return {
    ...connectionConfig(options),
    connectionTimeoutMillis: timeouts.connectMs,
    lock_timeout: timeouts.lockMs,
    statement_timeout: timeouts.statementMs,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
  };
}

function insertSql(table: string, row: Row): [string, unknown[]] {
  const columns = Object.keys(row);
  return [
    `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")})`,
    Object.values(row),
  ];
}

/**
 * A job that may be claimed now: due, its lease free or expired, and the head of its resource's queue. The head
 * check is a scalar subquery, which PostgreSQL runs for each job it looks at (an index probe on the job's
 * resource), rather than NOT EXISTS, which it may turn into a join: with statistics from when the queue was
 * short, it read every open change for each job (1.7 ms a claim with 2,000 queued, measured).
 */
const claimable = `j.run_after <= clock.ms
  AND (j.lease_expires_at IS NULL OR j.lease_expires_at < clock.ms)
  AND (SELECT 1 FROM changes c
       WHERE c.type = j.type AND c.name = j.name AND c.seq < j.seq AND c.status IN ${openStatuses}
       LIMIT 1) IS NULL
  AND ${changeSetTurn}`;
/** At most this many NOTIFYs in one statement. */
const notificationsPerStatement = 100;
/** Resources a claim tries before it gives up until the next wake-up: more than the replicas racing for one. */
const claimCandidates = 8;

/** The advisory lock key of one resource (and of its changes, their jobs and events). */
const resourceLock = (type: string, name: string) => JSON.stringify(["resource", type, name]);

class PostgresTx extends PostgresReader implements StoreTx {
  /** Advisory locks this transaction holds (until it ends). */
  private readonly held = new Set<string>();
  /** Writes held back until the next statement (see deferred-writes.ts). */
  private readonly deferred = new DeferredWrites();
  /**
   * The next event number of each change whose numbers this transaction knows, under the change's resource lock:
   * one it inserted (1), or one it appended to. Its events need no max + 1 read, so they can be held back too.
   */
  private readonly nextEvent = new Map<string, number>();

  /** Runs `sql`, with the held-back writes in front of it where they may go (else sent on their own first). */
  private async send(sql: string, params: unknown[]): Promise<{ rows: Row[]; rowCount: number | null }> {
    let statement = this.deferred.attach(sql, params);
    if (!statement) {
      await this.flush();
      statement = [sql, params];
    }
    return this.db.query(prepared(...statement));
  }

  /** Sends the held-back writes: before a lock (locks keep their order with writes), and before COMMIT. */
  async flush(): Promise<void> {
    const writes = this.deferred.flush();
    if (writes) await this.db.query(prepared(...writes));
  }

  /** Holds back a write whose result nobody reads; one already held back for `table` goes first. */
  private async defer(table: string, sql: string, ...params: unknown[]): Promise<void> {
    if (this.deferred.holds(table)) await this.flush();
    this.deferred.add({ table, sql, params });
  }

  protected override async one(sql: string, ...params: unknown[]): Promise<Row | undefined> {
    return (await this.send(sql, params)).rows[0];
  }

  protected override async all(sql: string, ...params: unknown[]): Promise<Row[]> {
    return (await this.send(sql, params)).rows;
  }

  /** Waits for, then holds until the transaction ends, the advisory lock `key` (see the locking rules above). */
  async lock(key: string, mode: "exclusive" | "shared" = "exclusive"): Promise<void> {
    // An exclusive hold covers a shared request; a shared one does not cover an exclusive request.
    if (this.held.has(key) || (mode === "shared" && this.held.has(`shared:${key}`))) return;
    const lockFunction = mode === "shared" ? "pg_advisory_xact_lock_shared" : "pg_advisory_xact_lock";
    await this.flush();
    await this.db.query(prepared(`SELECT ${lockFunction}(hashtextextended($1, 0))`, [key]));
    this.held.add(mode === "shared" ? `shared:${key}` : key);
  }

  /** Takes the lock `key` if it is free at once; false, waiting for nothing, when another transaction holds it. */
  private async tryLock(key: string): Promise<boolean> {
    if (this.held.has(key)) return true;
    await this.flush();
    // As 1 or 0: a row holds numbers and strings (see `rowTypes`).
    const row = await this.one("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))::int AS got", key);
    if (row?.got !== 1) return false;
    this.held.add(key);
    return true;
  }

  override async getResource(type: string, name: string): Promise<ResourceRecord | undefined> {
    await this.lock(resourceLock(type, name));
    return super.getResource(type, name);
  }

  override async getChange(id: string): Promise<ChangeRecord | undefined> {
    // The change names its resource: lock that, then read again what a holder of the lock may have changed.
    const change = await super.getChange(id);
    if (!change || this.held.has(resourceLock(change.type, change.name))) return change;
    await this.lock(resourceLock(change.type, change.name));
    return super.getChange(id);
  }

  async getJob(changeId: string): Promise<JobRecord | undefined> {
    const job = await this.jobOf(changeId);
    if (!job || this.held.has(resourceLock(job.type, job.name))) return job;
    await this.lock(resourceLock(job.type, job.name));
    return this.jobOf(changeId);
  }

  // Rows that belong to no resource are locked as rows (FOR UPDATE), so that two replicas handling the
  // same delivery or subscription take turns, the second reading what the first wrote. A review timer belongs
  // to its change's resource: its readers take that resource's lock first (getChange), no row lock.

  override async getDelivery(id: string): Promise<DeliveryRecord | undefined> {
    const row = await this.one("SELECT * FROM deliveries WHERE id = $1 FOR UPDATE", id);
    return row && deliveryFromRow(row);
  }

  override async getSubscription(id: string): Promise<SubscriptionRecord | undefined> {
    const row = await this.one("SELECT * FROM subscriptions WHERE id = $1 FOR UPDATE", id);
    return row && subscriptionFromRow(row);
  }

  private async run(sql: string, ...params: unknown[]): Promise<number> {
    return (await this.send(sql, params)).rowCount ?? 0;
  }

  async upsertResource(resource: ResourceRecord): Promise<void> {
    // A real upsert on the primary key only: an identity clash with another resource is an error.
    const row = resourceToRow(resource);
    const [sql, params] = insertSql("resources", row);
    const updates = Object.keys(row)
      .filter((column) => column !== "type" && column !== "name")
      .map((column) => `${column} = excluded.${column}`)
      .join(", ");
    await this.defer("resources", `${sql} ON CONFLICT (type, name) DO UPDATE SET ${updates}`, ...params);
  }

  async deleteResource(type: string, name: string): Promise<void> {
    await this.defer("resources", "DELETE FROM resources WHERE type = $1 AND name = $2", type, name);
  }

  async insertChange(change: Omit<ChangeRecord, "seq">): Promise<ChangeRecord> {
    const { seq: _none, ...row } = changeToRow({ ...change, seq: 0 });
    const [sql, params] = insertSql("changes", row);
    const inserted = await this.one(`${sql} RETURNING seq`, ...params);
    this.nextEvent.set(change.id, 1);
    return { ...change, seq: inserted!.seq as number };
  }

  async updateChange(change: ChangeRecord): Promise<void> {
    const row = changeToRow(change);
    const columns = Object.keys(row).filter((column) => column !== "id");
    await this.defer(
      "changes",
      `UPDATE changes SET ${columns.map((column, i) => `${column} = $${i + 1}`).join(", ")} WHERE id = $${columns.length + 1}`,
      ...columns.map((column) => row[column]),
      change.id,
    );
  }

  async appendEvent(event: Omit<ChangeEventRecord, "sequence">): Promise<ChangeEventRecord> {
    const known = this.nextEvent.get(event.changeId);
    if (known !== undefined) {
      this.nextEvent.set(event.changeId, known + 1);
      await this.defer(
        "change_events",
        `INSERT INTO change_events (change_id, sequence, time, status, kind, message, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        event.changeId,
        known,
        event.time,
        event.status,
        event.kind,
        event.message,
        json(event.details),
      );
      return { ...event, sequence: known };
    }
    const row = await this.one(
      `INSERT INTO change_events (change_id, sequence, time, status, kind, message, details)
       SELECT $1, coalesce(max(sequence), 0) + 1, $2, $3, $4, $5, $6 FROM change_events WHERE change_id = $1
       RETURNING sequence`,
      event.changeId,
      event.time,
      event.status,
      event.kind,
      event.message,
      json(event.details),
    );
    this.nextEvent.set(event.changeId, (row!.sequence as number) + 1);
    return { ...event, sequence: row!.sequence as number };
  }

  async insertRevision(r: RevisionRecord): Promise<void> {
    const [sql, params] = insertSql("revisions", revisionToRow(r));
    await this.defer("revisions", sql, ...params);
  }

  async insertIdempotencyKey(key: IdempotencyRecord): Promise<void> {
    await this.defer(
      "idempotency_keys",
      "INSERT INTO idempotency_keys (principal, request_id, request_hash, change_id, created_at) VALUES ($1, $2, $3, $4, $5)",
      key.principal,
      key.requestId,
      key.requestHash,
      key.changeId,
      key.createdAt,
    );
  }

  async upsertJob(job: Omit<JobRecord, "claimToken" | "claims">): Promise<void> {
    // Unclaimed, whatever held the row before: the claim count is the change's (002-claims.sql).
    await this.defer(
      "jobs",
      `INSERT INTO jobs (change_id, type, name, seq, run_after, lease_owner, lease_expires_at, phase, claim_token)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)
       ON CONFLICT (change_id) DO UPDATE SET
         type = excluded.type, name = excluded.name, seq = excluded.seq, run_after = excluded.run_after,
         lease_owner = excluded.lease_owner, lease_expires_at = excluded.lease_expires_at, phase = excluded.phase,
         claim_token = NULL`,
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
    await this.defer("jobs", "DELETE FROM jobs WHERE change_id = $1", changeId);
  }

  async claimJob(owner: string, leaseMs: number): Promise<JobRecord | undefined> {
    // The heads of resources' queues that are due and free, oldest first (an earlier open change, even one
    // still in review, keeps a job waiting). Each is claimed only under its resource's lock, taken with a
    // try: a claim never waits for a submission or another replica's claim (which would also order a row
    // lock before the resource lock, see the locking rules above); it moves on to the next resource.
    //
    // The jobs are walked in seq order one index probe at a time (a recursive query that stops once it has
    // enough), so the plan cannot depend on statistics: planned from statistics taken while the queue was
    // short, a plain ORDER BY ... LIMIT read the whole queue, or every open change for each job (1 to 10 ms a
    // claim with 2,000 to 17,000 queued, measured), and the queue is longest exactly when claims must be quick.
    const candidates = await this.all(
      `WITH RECURSIVE clock AS (SELECT ${clockMs} AS ms),
       walk AS (
         (SELECT j.seq, j.type, j.name, j.run_after, j.lease_expires_at, j.change_id, j.phase
          FROM jobs j ORDER BY j.seq LIMIT 1)
         UNION ALL
         SELECT n.* FROM walk w, LATERAL (
           SELECT j.seq, j.type, j.name, j.run_after, j.lease_expires_at, j.change_id, j.phase FROM jobs j
           WHERE j.seq > w.seq ORDER BY j.seq LIMIT 1) n)
       SELECT j.type, j.name FROM walk j, clock WHERE ${claimable} LIMIT ${claimCandidates}`,
    );
    for (const { type, name } of candidates as { type: string; name: string }[]) {
      if (!(await this.tryLock(resourceLock(type, name)))) continue;
      // Read again under the lock: another replica may have claimed it, or a review cancelled it. SKIP
      // LOCKED still guards a row held by a claim that expired with its holder mid-transaction. The token
      // is the change's next claim number, so it differs from every earlier claim's even across re-created jobs.
      const row = await this.one(
        `WITH clock AS (SELECT ${clockMs} AS ms),
         next AS (
           SELECT j.change_id FROM jobs j, clock
           WHERE j.type = $3 AND j.name = $4 AND ${claimable}
           ORDER BY j.seq LIMIT 1
           FOR UPDATE OF j SKIP LOCKED),
         counted AS (
           UPDATE changes SET claims = changes.claims + 1 FROM next WHERE changes.id = next.change_id
           RETURNING changes.id, changes.claims)
         UPDATE jobs SET lease_owner = $1, lease_expires_at = clock.ms + $2, claim_token = counted.claims
         FROM counted, clock WHERE jobs.change_id = counted.id
         RETURNING jobs.*, counted.claims`,
        owner,
        leaseMs,
        type,
        name,
      );
      if (row) return toJobRecord(row);
    }
    return undefined;
  }

  async renewLease(changeId: string, claimToken: number, leaseMs: number): Promise<boolean> {
    const updated = await this.run(
      `UPDATE jobs SET lease_expires_at = ${clockMs} + $3 WHERE change_id = $1 AND claim_token = $2`,
      changeId,
      claimToken,
      leaseMs,
    );
    return updated === 1;
  }

  async beatReplica({ replica, host, pid }: ReplicaIdentity): Promise<void> {
    await this.run(
      `INSERT INTO replica_beats (replica, host, pid, started_at, beat_at) VALUES ($1, $2, $3, now(), now())
       ON CONFLICT (replica) DO UPDATE SET beat_at = now()`,
      replica,
      host,
      pid,
    );
    await this.run("DELETE FROM replica_beats WHERE beat_at < now() - interval '7 days'");
  }

  async replicaBeats(host: string): Promise<ReplicaBeat[]> {
    const rows = await this.all(
      `SELECT replica, host, pid,
         (extract(epoch FROM now() - started_at) * 1000)::float8 AS started_ms_ago,
         (extract(epoch FROM now() - beat_at) * 1000)::float8 AS silent_ms
       FROM replica_beats WHERE host = $1 ORDER BY replica`,
      host,
    );
    return rows.map(replicaBeatFromRow);
  }

  async appendAudit(record: AuditRecord): Promise<void> {
    await this.defer(
      "audit_log",
      "INSERT INTO audit_log (time, principal, action, target, details) VALUES ($1, $2, $3, $4, $5)",
      record.time,
      record.principal,
      record.action,
      record.target,
      json(record.details),
    );
  }

  async pruneIdempotencyKeys(before: string): Promise<number> {
    return this.run("DELETE FROM idempotency_keys WHERE created_at < $1", before);
  }

  async insertSubscription(subscription: SubscriptionRecord): Promise<void> {
    const [sql, params] = insertSql("subscriptions", subscriptionToRow(subscription));
    await this.run(sql, ...params);
  }

  async deleteSubscription(id: string): Promise<void> {
    await this.run("DELETE FROM subscriptions WHERE id = $1", id);
  }

  async insertDelivery(delivery: DeliveryRecord): Promise<void> {
    const [sql, params] = insertSql("deliveries", deliveryToRow(delivery));
    await this.run(sql, ...params);
  }

  async updateDelivery(d: DeliveryRecord): Promise<void> {
    await this.run(
      `UPDATE deliveries SET status = $1, attempts = $2, next_attempt_at = $3, expires_at = $4, last_error = $5,
         last_status_code = $6, delivered_at = $7 WHERE id = $8`,
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
    await this.run(
      `INSERT INTO delivery_attempts (delivery_id, attempt, time, status_code, error, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      a.deliveryId,
      a.attempt,
      a.time,
      a.statusCode,
      a.error,
      a.durationMs,
    );
  }

  async upsertReviewTimer(timer: ReviewTimerRecord): Promise<void> {
    await this.run(
      `INSERT INTO review_timers (change_id, kind, due_at) VALUES ($1, $2, $3)
       ON CONFLICT (change_id, kind) DO UPDATE SET due_at = excluded.due_at`,
      timer.changeId,
      timer.kind,
      timer.dueAt,
    );
  }

  async upsertDenial(denial: DenialRecord): Promise<void> {
    await this.run(
      `INSERT INTO denied_principals (principal, reason, denied_by, denied_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (principal) DO UPDATE SET reason = excluded.reason, denied_by = excluded.denied_by, denied_at = excluded.denied_at`,
      denial.principal,
      denial.reason,
      denial.deniedBy,
      denial.deniedAt,
    );
  }

  async insertImport(record: ImportRecord): Promise<void> {
    await this.run(
      `INSERT INTO imports (id, requested_by, request_id, type, scope, status, body, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
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
    await this.run(
      "INSERT INTO change_sets (id, requested_by, request_id, body, created_at) VALUES ($1, $2, $3, $4, $5)",
      record.id,
      record.requestedBy,
      record.requestId,
      changeSetBody(record),
      record.createdAt,
    );
  }

  async insertChangeSetPlan(record: ChangeSetPlanRecord): Promise<void> {
    await this.run(
      "INSERT INTO change_set_plans (id, planned_by, body, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
      record.id,
      record.plannedBy,
      planBody(record),
      record.createdAt,
      record.expiresAt,
    );
  }

  async updateImport(record: ImportRecord): Promise<void> {
    await this.run(
      "UPDATE imports SET status = $1, body = $2, updated_at = $3 WHERE id = $4",
      record.status,
      importBody(record),
      record.updatedAt,
      record.id,
    );
  }

  async deleteDenial(principal: string): Promise<void> {
    await this.run("DELETE FROM denied_principals WHERE principal = $1", principal);
  }

  async deleteReviewTimer(changeId: string, kind: ReviewTimerRecord["kind"]): Promise<void> {
    await this.run("DELETE FROM review_timers WHERE change_id = $1 AND kind = $2", changeId, kind);
  }

  async claimReconcileScope(scopeKey: string, round: number, owner: string, at: string): Promise<boolean> {
    // Only forward: a replica racing for the same round waits here for the other's commit, then updates nothing,
    // and one that reaches an older round late finds a newer one already claimed.
    const claimed = await this.run(
      `INSERT INTO reconcile_claims (scope_key, round, owner, claimed_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (scope_key) DO UPDATE SET round = excluded.round, owner = excluded.owner, claimed_at = excluded.claimed_at
       WHERE reconcile_claims.round < excluded.round`,
      scopeKey,
      round,
      owner,
      at,
    );
    return claimed === 1;
  }

  async pruneDeliveries(before: string): Promise<void> {
    const done = "SELECT id FROM deliveries WHERE status IN ('DELIVERED','EXPIRED') AND created_at < $1";
    await this.run(`DELETE FROM delivery_attempts WHERE delivery_id IN (${done})`, before);
    await this.run(`DELETE FROM deliveries WHERE id IN (${done})`, before);
  }
}

/**
 * The shared store: any number of Plinth replicas on one PostgreSQL
 * database. Each `transact` is one READ COMMITTED transaction on one pooled
 * connection, following the locking rules at the top of this file, and is run
 * again from the start after a deadlock or a unique-key race. A caller hears
 * back only after COMMIT returned.
 */
export class PostgresStore extends PostgresReader implements Store {
  private refused: string | undefined;
  /** The connection that LISTENs, while subscribed; replaced when it fails. */
  private listener: pg.Client | undefined;
  private closed = false;
  /** Transactions run again, by the SQLSTATE that made them (see `transactionRetries`). */
  private readonly retries = new Map<string, number>();
  /** Notifications not sent yet, by channel and payload, in the order they were made. */
  private readonly unsent = new Map<string, [string, string]>();
  /** Whether a batch of notifications is on its way (the next waits for it). */
  private sending = false;

  private readonly connectMs: number;

  private constructor(
    private readonly pool: pg.Pool,
    /** Lease renewals only (`TransactOptions.lane`): they never queue behind requests waiting for locks. */
    private readonly leasePool: pg.Pool,
    private readonly options: PostgresStoreOptions,
  ) {
    const connectMs = options.timeouts?.connectMs ?? defaultTimeouts.connectMs;
    super(pooledQueries(pool, connectMs));
    this.connectMs = connectMs;
  }

  /** Connects, applies pending migrations (once across replicas starting together) and returns the store. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const config = { ...boundedConfig(options), types: rowTypes };
    const pool = new pg.Pool({ ...config, max: options.poolSize ?? 10 });
    const leasePool = new pg.Pool({ ...config, max: leasePoolSize });
    for (const each of [pool, leasePool]) each.on("error", (error) => options.onConnectionError?.(error));
    const store = new PostgresStore(pool, leasePool, options);
    // Migrating waits for another replica's migration and may run long: on a session without the bounds.
    const client = new pg.Client({
      ...connectionConfig(options),
      connectionTimeoutMillis: config.connectionTimeoutMillis,
    });
    try {
      await client.connect();
      const { unknown } = await migrate(client);
      if (unknown.length > 0) {
        store.refused = `the database was migrated by a newer Plinth (${unknown.join(", ")}); run that version or newer`;
      }
    } catch (error) {
      await Promise.all([pool.end(), leasePool.end()]);
      throw error;
    } finally {
      await client.end().catch(() => undefined);
    }
    return store;
  }

  /** How many times a transaction was run again since the store opened, by SQLSTATE (e.g. 40001). */
  transactionRetries(): Record<string, number> {
    return Object.fromEntries(this.retries);
  }

  refusal(): string | undefined {
    return this.refused;
  }

  async transact<T>(work: (tx: StoreTx) => Promise<T>, options: TransactOptions = {}): Promise<T> {
    if (this.refused) throw new Error(this.refused);
    const pool = options.lane === "lease" ? this.leasePool : this.pool;
    for (let attempt = 1; ; attempt++) {
      const client = await checkOut(pool, this.connectMs);
      let broken: Error | undefined;
      // A checked-out connection can fail between two queries (the server stops, or fails over): without a
      // listener its "error" would end the process. The query in flight rejects as well; the client is dropped.
      const onError = (error: Error) => {
        broken = error;
      };
      client.on("error", onError);
      try {
        await client.query("BEGIN ISOLATION LEVEL READ COMMITTED");
        const tx = new PostgresTx(client as unknown as Queryable);
        const value = await work(tx);
        await tx.flush();
        await client.query("COMMIT");
        return value;
      } catch (error) {
        await client.query("ROLLBACK").catch((rollbackError: unknown) => {
          // The connection is unusable: the pool must not hand it out again.
          broken = rollbackError as Error;
        });
        if (!retryable(error, attempt)) throw error;
        const code = (error as { code: string }).code;
        this.retries.set(code, (this.retries.get(code) ?? 0) + 1);
      } finally {
        client.off("error", onError);
        client.release(broken);
      }
      // Conflicting transactions retry at spread-out times, not in lockstep.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)));
    }
  }

  /**
   * Tells every process LISTENing on `channel` (this one included), once the
   * caller's transaction is committed. Best effort: a lost notification only
   * delays the others until their next poll. Notifications made while one
   * batch is on its way go together in the next (one statement, one commit:
   * PostgreSQL serializes the commits of transactions that notify), and the
   * same one twice in a batch is sent once.
   */
  publish(channel: string, payload: string): void {
    if (this.closed) return;
    this.unsent.set(`${channel}\n${payload}`, [channel, payload]);
    if (this.sending) return;
    this.sending = true;
    setImmediate(() => this.sendNotifications());
  }

  private sendNotifications(): void {
    const batch = [...this.unsent.values()].slice(0, notificationsPerStatement);
    for (const [channel, payload] of batch) this.unsent.delete(`${channel}\n${payload}`);
    if (batch.length === 0 || this.closed) {
      this.sending = false;
      return;
    }
    const calls = batch.map((_, i) => `pg_notify($${2 * i + 1}, $${2 * i + 2})`).join(", ");
    this.pool
      .query(`SELECT ${calls}`, batch.flat())
      .catch((error: unknown) => this.options.onConnectionError?.(error as Error))
      .finally(() => this.sendNotifications());
  }

  /**
   * LISTENs on `channels` on a connection of its own, calling `listener` for
   * each notification, and LISTENs again on a new connection when that one
   * fails. Rejects when the database cannot LISTEN at all (e.g. CockroachDB).
   */
  async subscribe(channels: string[], listener: (channel: string, payload: string) => void): Promise<void> {
    const client = new pg.Client({ ...boundedConfig(this.options), types: rowTypes });
    await client.connect();
    try {
      if (this.closed) throw new Error("the store is closed");
      for (const channel of channels) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    client.on("notification", (message) => listener(message.channel, message.payload ?? ""));
    const again = (error?: Error) => {
      if (this.listener !== client || this.closed) return;
      this.listener = undefined;
      if (error) this.options.onConnectionError?.(error);
      client.end().catch(() => undefined);
      // Notifications sent meanwhile are lost: the slow poll covers them.
      const retry = (): void => {
        this.subscribe(channels, listener).catch((retryError: unknown) => {
          this.options.onConnectionError?.(retryError as Error);
          if (!this.closed) setTimeout(retry, 1_000).unref();
        });
      };
      setTimeout(retry, 100).unref();
    };
    client.on("error", again);
    client.on("end", () => again());
    this.listener = client;
  }

  async close(): Promise<void> {
    this.closed = true;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await Promise.all([this.pool.end(), this.leasePool.end()]);
  }
}

export function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  return PostgresStore.open(options);
}
