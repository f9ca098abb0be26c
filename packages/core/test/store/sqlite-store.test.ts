import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { waitFor } from "@plinth/testing";
import { describe, expect, it, vi } from "vitest";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import type { Store } from "../../src/store/store.ts";
import { changeRecord, describeStoreContract, resourceRecord } from "./store-contract.ts";

const run = promisify(execFile);

describeStoreContract("SQLite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "plinth-store-"));
  const path = join(dir, "plinth.db");
  return {
    store: createSqliteStore({ path }),
    reopen: async () => createSqliteStore({ path }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe("SQLite page size", () => {
  const pageSize = (path: string) => {
    const db = new Database(path, { readonly: true });
    try {
      return db.pragma("page_size", { simple: true });
    } finally {
      db.close();
    }
  };

  it("gives a new database 2 KiB pages and leaves an existing database's page size alone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-pages-"));
    try {
      const fresh = join(dir, "fresh.db");
      await createSqliteStore({ path: fresh }).close();
      expect(pageSize(fresh)).toBe(2048);

      const older = join(dir, "older.db");
      const made = new Database(older);
      made.pragma("page_size = 4096");
      made.exec("CREATE TABLE before_plinth (x)");
      made.close();
      const store = createSqliteStore({ path: older });
      const key = {
        principal: "p",
        requestId: "r",
        requestHash: "h",
        changeId: null,
        createdAt: "2026-01-01T00:00:00Z",
      };
      await store.transact((tx) => tx.insertIdempotencyKey(key));
      expect(await store.getIdempotencyKey("p", "r")).toMatchObject(key);
      await store.close();
      expect(pageSize(older)).toBe(4096);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("SQLite store shutdown", () => {
  it("closes completely, checkpoint thread included, when nothing else keeps the process alive", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-close-"));
    const path = join(dir, "plinth.db");
    const store = join(import.meta.dirname, "../../src/store/sqlite/sqlite-store.ts");
    // The last writes are not awaited: close() must still finish them.
    const script = `
      import { createSqliteStore } from ${JSON.stringify(store)};
      const store = createSqliteStore({ path: ${JSON.stringify(path)} });
      for (let i = 0; i < 20; i++) {
        void store.transact((tx) =>
          tx.appendAudit({ time: new Date().toISOString(), principal: "p", action: "a", target: "t" + i, details: {} }),
        );
      }
      await store.close();
      console.log("closed");
    `;
    try {
      const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        cwd: join(import.meta.dirname, "../.."),
      });
      expect(stdout.trim()).toBe("closed");
      // A clean close copies the WAL into the database file and removes it.
      expect(existsSync(`${path}-wal`)).toBe(false);
      const db = new Database(path, { readonly: true });
      expect(db.prepare("SELECT count(*) FROM audit_log").pluck().get()).toBe(20);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("SQLite store durability", () => {
  it("lets SQLite itself sync every commit: synchronous FULL by default, NORMAL when configured", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-sync-"));
    try {
      const full = createSqliteStore({ path: join(dir, "full.db") });
      expect(await full.settings()).toEqual({ journalMode: "wal", synchronous: "FULL", walAutocheckpoint: 0 });
      await full.close();
      const normal = createSqliteStore({ path: join(dir, "normal.db"), synchronous: "NORMAL" });
      expect(await normal.settings()).toEqual({ journalMode: "wal", synchronous: "NORMAL", walAutocheckpoint: 0 });
      await normal.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps every acknowledged transaction when its process is killed mid-stream", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-kill-"));
    const path = join(dir, "plinth.db");
    const store = join(import.meta.dirname, "../../src/store/sqlite/sqlite-store.ts");
    // Prints each target once its transaction resolved; 8 in flight at a time, so commits are shared.
    const script = `
      import { createSqliteStore } from ${JSON.stringify(store)};
      const store = createSqliteStore({ path: ${JSON.stringify(path)} });
      let next = 0;
      const writeOne = async () => {
        const target = "t" + next++;
        await store.transact((tx) =>
          tx.appendAudit({ time: new Date().toISOString(), principal: "p", action: "a", target, details: {} }),
        );
        process.stdout.write(target + "\\n");
      };
      await Promise.all(Array.from({ length: 8 }, async () => { for (;;) await writeOne(); }));
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: join(import.meta.dirname, "../.."),
      stdio: ["ignore", "pipe", "inherit"],
    });
    const acknowledged: string[] = [];
    let buffer = "";
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => {
          buffer += chunk.toString();
          const lines = buffer.split("\n");
          buffer = lines.pop() ?? "";
          acknowledged.push(...lines);
          if (acknowledged.length >= 300) {
            child.kill("SIGKILL");
            resolve();
          }
        });
        child.once("exit", (code) => reject(new Error(`the writer exited by itself (${code})`)));
      });
      await new Promise((resolve) => child.once("exit", resolve));
      const reopened = createSqliteStore({ path });
      await reopened.close();
      const db = new Database(path, { readonly: true });
      const stored = new Set(db.prepare("SELECT target FROM audit_log").pluck().all() as string[]);
      db.close();
      expect(acknowledged.filter((target) => !stored.has(target))).toEqual([]);
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("SQLite job leases", () => {
  const seed = async (store: Store) =>
    await store.transact(async (tx) => {
      const made = await tx.insertChange(changeRecord({ id: "c-lease", spec: {}, resolvedSpec: {} }));
      const job = { changeId: made.id, type: "t.x", name: "a", seq: made.seq, runAfter: 0, phase: "apply" as const };
      await tx.upsertJob({ ...job, leaseOwner: null, leaseExpiresAt: null });
      return made;
    });

  it("times leases on a monotonic clock: a wall-clock step forward does not end one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-lease-"));
    const store = createSqliteStore({ path: join(dir, "plinth.db") });
    try {
      await seed(store);
      expect(await store.transact((tx) => tx.claimJob("w1", 60_000))).toBeDefined();
      // NTP (or a resumed VM) moves the wall clock an hour ahead; only Date is faked, the monotonic clock runs on.
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 3_600_000 });
      expect(await store.transact((tx) => tx.claimJob("w2", 60_000))).toBeUndefined();
    } finally {
      vi.useRealTimers();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("frees the leases a dead process left when it opens: the data directory is one process's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-lease-"));
    const path = join(dir, "plinth.db");
    try {
      const first = createSqliteStore({ path });
      await seed(first);
      const held = await first.transact((tx) => tx.claimJob("w1", 3_600_000));
      await first.close();
      const second = createSqliteStore({ path });
      try {
        const taken = await second.transact((tx) => tx.claimJob("w2", 60_000));
        expect(taken).toMatchObject({ changeId: "c-lease", leaseOwner: "w2", claims: 2 });
        expect(taken?.claimToken).not.toBe(held?.claimToken);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("SQLite store transactions, one after another on one connection", () => {
  const open = () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-tx-"));
    const path = join(dir, "plinth.db");
    const store = createSqliteStore({ path, checkpointIntervalMs: 20 });
    return {
      store,
      path,
      done: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };

  it("loses no update when concurrent transactions read and rewrite the same row", async () => {
    const { store, done } = open();
    try {
      await store.transact((tx) => tx.upsertResource(resourceRecord({ labels: { count: "0" } })));
      // Each reads the counter and writes it back plus one; all share commits.
      await Promise.all(
        Array.from({ length: 40 }, () =>
          store.transact(async (tx) => {
            const current = (await tx.getResource("t.x", "a"))!;
            await tx.upsertResource({ ...current, labels: { count: String(Number(current.labels.count) + 1) } });
          }),
        ),
      );
      expect((await store.getResource("t.x", "a"))?.labels.count).toBe("40");
    } finally {
      await done();
    }
  });

  it("runs each transaction's work once, and lets it list what it wrote", async () => {
    const { store, done } = open();
    try {
      let runs = 0;
      const listed = await Promise.all(
        ["a", "b", "c"].map((name) =>
          store.transact(async (tx) => {
            runs += 1;
            await tx.upsertResource(resourceRecord({ name, identity: name }));
            return (await tx.listResources({}, 10, "")).items.map((r) => r.name);
          }),
        ),
      );
      expect(runs).toBe(3);
      expect(listed).toEqual([["a"], ["a", "b"], ["a", "b", "c"]]);
    } finally {
      await done();
    }
  });

  it("never checkpoints on the event loop: the checkpoint thread copies the WAL", async () => {
    const { store, path, done } = open();
    try {
      expect(await store.settings()).toMatchObject({ walAutocheckpoint: 0 });
      for (let i = 0; i < 50; i++) {
        await store.transact((tx) =>
          tx.appendAudit({ time: new Date().toISOString(), principal: "p", action: "a", target: `t${i}`, details: {} }),
        );
      }
      // Another connection's PASSIVE checkpoint finds nothing left to copy once the thread has done it.
      const probe = new Database(path);
      try {
        await waitFor(
          async () => {
            const [row] = probe.pragma("wal_checkpoint(PASSIVE)") as { log: number; checkpointed: number }[];
            if (!row || row.log === 0 || row.checkpointed !== row.log) throw new Error(JSON.stringify(row));
          },
          { what: "the checkpoint thread to copy the WAL", timeoutMs: 10_000 },
        );
      } finally {
        probe.close();
      }
    } finally {
      await done();
    }
  });
});
