import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type PostgresServer, startPostgres, waitFor } from "@plinth/testing";
import pg from "pg";
import { freshDatabase } from "../support/fresh-database.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fireDueReviewTimers } from "../../src/notifications/review-timers.ts";
import type { NotificationSettings } from "../../src/notifications/notification-settings.ts";
import type { Logger } from "../../src/observability/logger.ts";
import { knownMigrations } from "../../src/store/postgres/migrate.ts";
import { createPostgresNotifier } from "../../src/store/postgres/postgres-notifier.ts";
import { type PostgresStore, openPostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { changeRecord, describeStoreContract, storeTestTime } from "./store-contract.ts";

const migrationsDir = join(import.meta.dirname, "../../src/store/postgres/migrations");

let server: PostgresServer;

beforeAll(async () => {
  server = await startPostgres();
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describeStoreContract("PostgreSQL", async () => {
  const url = await freshDatabase(server);
  return {
    store: await openPostgresStore({ connection: { url }, poolSize: 4 }),
    reopen: () => openPostgresStore({ connection: { url } }),
    // The whole server is thrown away after the file.
    cleanup: () => undefined,
  };
});

describe("PostgreSQL store migrations", () => {
  it("migrates once when several replicas start together", { timeout: 60_000 }, async () => {
    const url = await freshDatabase(server);
    const stores = await Promise.all(
      Array.from({ length: 3 }, () => openPostgresStore({ connection: { url }, poolSize: 2 })),
    );
    try {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ name: string }>("SELECT name FROM schema_migrations ORDER BY name");
        expect(rows.map((row) => row.name)).toEqual(knownMigrations());
      } finally {
        await client.end();
      }
      for (const store of stores) expect(store.refusal()).toBeUndefined();
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it("refuses all work on a database a newer Plinth migrated", { timeout: 60_000 }, async () => {
    const url = await freshDatabase(server);
    await (await openPostgresStore({ connection: { url } })).close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query("INSERT INTO schema_migrations (name) VALUES ('999-from-the-future.sql')");
    } finally {
      await client.end();
    }
    const store = await openPostgresStore({ connection: { url } });
    try {
      expect(store.refusal()).toMatch(/999-from-the-future\.sql/);
      await expect(store.transact((tx) => tx.getChange("x"))).rejects.toThrow(/newer Plinth/);
    } finally {
      await store.close();
    }
  });

  it("keeps the claim counts of a database migrated before claims moved to changes", { timeout: 60_000 }, async () => {
    const url = await freshDatabase(server);
    // The schema as the first PostgreSQL store left it: only 001, with the claim count on the job row.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(readFileSync(join(migrationsDir, "001-initial.sql"), "utf8"));
      await client.query(
        "CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
      );
      await client.query("INSERT INTO schema_migrations (name) VALUES ('001-initial.sql')");
      const c = changeRecord({ name: "upgraded" });
      await client.query(
        `INSERT INTO changes (id, type, name, kind, status, requested_by, team, base_revision, required_approvals,
           created_at, updated_at) VALUES ($1, 't.x', 'upgraded', 'CREATE', 'QUEUED', 'p', 'team', 0, 0, $2, $2)`,
        [c.id, storeTestTime],
      );
      await client.query(
        `INSERT INTO jobs (change_id, type, name, seq, run_after, phase, claim_token, claims)
         SELECT id, type, name, seq, 0, 'apply', NULL, 2 FROM changes WHERE id = $1`,
        [c.id],
      );
    } finally {
      await client.end();
    }
    const store = await openPostgresStore({ connection: { url } });
    try {
      // Two earlier claims: the next one is the third, so its token is new.
      expect(await store.transact((tx) => tx.claimJob("w", 60_000))).toMatchObject({ claims: 3, claimToken: 3 });
    } finally {
      await store.close();
    }
  });

  it("connects with host, port, database, user and password as well as a URL", { timeout: 60_000 }, async () => {
    const url = new URL(await freshDatabase(server));
    const store = await openPostgresStore({
      connection: {
        host: server.host,
        port: server.port,
        database: url.pathname.slice(1),
        user: server.user,
        password: server.password,
      },
    });
    try {
      expect(await store.countChangesByStatus()).toEqual({});
    } finally {
      await store.close();
    }
  });
});

describe("PostgreSQL store under races between replicas", () => {
  /**
   * Resolves once `count` callers have arrived: makes transactions overlap
   * for certain. Rejects after `timeoutMs` when the others never come, e.g.
   * because they are blocked in the database behind the one waiting here.
   */
  const barrier = (count: number, timeoutMs = 30_000) => {
    let arrived = 0;
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    return (): Promise<void> => {
      if (++arrived >= count) open();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`only ${arrived} of ${count} arrived`)), timeoutMs);
      });
      return Promise.race([opened, late]).finally(() => clearTimeout(timer));
    };
  };

  it("gives one change when replays of one request read before either writes", { timeout: 60_000 }, async () => {
    const url = await freshDatabase(server);
    // Two stores: two replicas, each with its own pool.
    const replicas = [
      await openPostgresStore({ connection: { url } }),
      await openPostgresStore({ connection: { url } }),
    ];
    const bothRead = barrier(2);
    const submit = (store: PostgresStore) =>
      store.transact(async (tx) => {
        const seen = await tx.getIdempotencyKey("p", "replayed");
        if (seen) return seen.changeId;
        // Both replicas have looked and found no key before either inserts (a retry passes straight through).
        await bothRead();
        const made = await tx.insertChange(changeRecord({ name: "replayed" }));
        await tx.insertIdempotencyKey({
          principal: "p",
          requestId: "replayed",
          requestHash: "h",
          changeId: made.id,
          createdAt: storeTestTime,
        });
        return made.id;
      });
    try {
      const ids = await Promise.all(replicas.map(submit));
      expect(ids[0]).toBe(ids[1]);
      expect((await replicas[0]!.listChanges({}, 10, "")).items.map((c) => c.id)).toEqual([ids[0]]);
    } finally {
      await Promise.all(replicas.map((store) => store.close()));
    }
  });

  it(
    "hands a job to one of two replicas claiming at the same moment, without making the other wait",
    { timeout: 60_000 },
    async () => {
      const url = await freshDatabase(server);
      const replicas = [
        await openPostgresStore({ connection: { url } }),
        await openPostgresStore({ connection: { url } }),
      ];
      try {
        const made = await replicas[0]!.transact(async (tx) => {
          const c = await tx.insertChange(changeRecord({ name: "one-job" }));
          await tx.upsertJob({
            changeId: c.id,
            type: c.type,
            name: c.name,
            seq: c.seq,
            runAfter: 0,
            leaseOwner: null,
            leaseExpiresAt: null,
            phase: "apply",
          });
          return c;
        });
        // Both claim inside open transactions and commit only once both claims returned: the second
        // must skip the row the first holds, not wait for it (nor take it too).
        const bothClaimed = barrier(2, 20_000);
        const claims = await Promise.all(
          replicas.map((store, i) =>
            store.transact(async (tx) => {
              const claim = await tx.claimJob(`replica-${i}`, 60_000);
              await bothClaimed();
              return claim;
            }),
          ),
        );
        expect(claims.filter((claim) => claim !== undefined).map((claim) => claim.changeId)).toEqual([made.id]);
      } finally {
        await Promise.all(replicas.map((store) => store.close()));
      }
    },
  );
});

describe("PostgreSQL review timers", () => {
  it(
    "fire under their change's resource lock, taken first, so a submission writing the timer never deadlocks with them",
    { timeout: 60_000 },
    async () => {
      const url = await freshDatabase(server);
      const [submitter, timers] = [
        await openPostgresStore({ connection: { url } }),
        await openPostgresStore({ connection: { url } }),
      ];
      const watcher = new pg.Client({ connectionString: url });
      await watcher.connect();
      try {
        const change = await submitter.transact(async (tx) => {
          const made = await tx.insertChange(changeRecord({ name: "in-review", status: "PENDING_REVIEW" }));
          await tx.upsertReviewTimer({ changeId: made.id, kind: "reminder", dueAt: 0 });
          return made;
        });
        const deps = {
          store: timers,
          logger: { info: () => undefined } as unknown as Logger,
          notifications: { configSubscriptions: [] } as unknown as NotificationSettings,
          now: () => new Date(),
        };
        let firing: Promise<number> | undefined;
        // A transaction on the change's resource (a review, a new submission) that rewrites its timer, while the
        // timers' transaction for that change is waiting: it must wait for this one, holding nothing it wants.
        await submitter.transact(async (tx) => {
          await tx.getResource(change.type, change.name);
          firing = fireDueReviewTimers(deps);
          await waitFor(
            async () => {
              const { rows } = await watcher.query(
                "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
              );
              if (rows[0].n < 1) throw new Error("the timers' transaction is not waiting yet");
            },
            { what: "the timers' transaction waiting for a lock", timeoutMs: 20_000 },
          );
          await tx.upsertReviewTimer({ changeId: change.id, kind: "reminder", dueAt: 1 });
        });
        expect(await firing).toBe(1);
        expect(submitter.transactionRetries()).toEqual({});
        expect(timers.transactionRetries()).toEqual({});
      } finally {
        await watcher.end();
        await Promise.all([submitter, timers].map((store) => store.close()));
      }
    },
  );
});

describe("PostgreSQL wake-ups between replicas", () => {
  it("wakes another replica's workers and watchers, not its own twice", { timeout: 60_000 }, async () => {
    const url = await freshDatabase(server);
    const [a, b] = [await openPostgresStore({ connection: { url } }), await openPostgresStore({ connection: { url } })];
    const noListen = (error: Error) => {
      throw error;
    };
    try {
      const [onA, onB] = [await createPostgresNotifier(a, noListen), await createPostgresNotifier(b, noListen)];
      const heard = { aWork: 0, aChange1: 0, aChange2: 0, bWork: 0, bChange1: 0 };
      onA.onWork(() => (heard.aWork += 1));
      onA.onChange("change-1", () => (heard.aChange1 += 1));
      onA.onChange("change-2", () => (heard.aChange2 += 1));
      onB.onWork(() => (heard.bWork += 1));
      onB.onChange("change-1", () => (heard.bChange1 += 1));
      onA.workAvailable();
      onA.changeUpdated("change-1");
      const until = (what: string, done: () => boolean) =>
        waitFor(
          async () => {
            if (!done()) throw new Error(`heard so far: ${JSON.stringify(heard)}`);
          },
          { what, timeoutMs: 30_000 },
        );
      await until("replica B hearing replica A", () => heard.bWork > 0 && heard.bChange1 > 0);
      // Sent after A's announcements were delivered: once A hears this, A's own echoes have reached it too.
      onB.changeUpdated("change-2");
      await until("replica A hearing replica B", () => heard.aChange2 > 0);
      expect(heard).toEqual({ aWork: 1, aChange1: 1, aChange2: 1, bWork: 1, bChange1: 1 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
