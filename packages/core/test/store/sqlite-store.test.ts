import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { describeStoreContract } from "./store-contract.ts";

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
    // Checkpoints as often as possible, so the checkpoint thread is running when the store closes.
    const script = `
      import { createSqliteStore } from ${JSON.stringify(store)};
      const store = createSqliteStore({ path: ${JSON.stringify(path)}, checkpointIntervalMs: 0 });
      for (let i = 0; i < 20; i++) {
        await store.transact((tx) =>
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
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
