import * as fs from "node:fs";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "@plinth/testing";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ResourceRecord } from "../../src/store/records.ts";
import { createSqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import type { Store } from "../../src/store/store.ts";
import { resourceRecord } from "./store-contract.ts";

vi.setConfig({ testTimeout: 20_000 });

// The store syncs its files itself (synchronous FULL). These tests hold its
// fdatasync calls back to check what may and may not happen before the disk
// has confirmed a write: the property behind "an acknowledged change is never
// lost". Only fdatasync is replaced; every other file operation is real.
type SyncCallback = (error: NodeJS.ErrnoException | null) => void;
const syncs = vi.hoisted(() => ({
  hold: false,
  held: [] as { fd: number; done: (error: NodeJS.ErrnoException | null) => void }[],
  calls: [] as number[],
  realSync: undefined as undefined | ((fd: number, callback: SyncCallback) => void),
}));
vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  syncs.realSync = real.fdatasync;
  return {
    ...real,
    fdatasync: (fd: number, callback: SyncCallback) => {
      syncs.calls.push(fd);
      if (syncs.hold) syncs.held.push({ fd, done: callback });
      else real.fdatasync(fd, callback);
    },
  };
});

/** Lets the oldest held sync reach the disk (or fail), as the kernel would. */
function releaseSync(error: NodeJS.ErrnoException | null = null): void {
  const next = syncs.held.shift();
  if (!next) throw new Error("no sync is waiting");
  if (error) next.done(error);
  else syncs.realSync!(next.fd, next.done);
}

const resource = (name: string): ResourceRecord => resourceRecord({ name, identity: name });

/** The WAL header's checkpoint sequence number and salts: SQLite changes them when it starts the WAL over. */
function walHeader(path: string): Buffer {
  return fs.readFileSync(`${path}-wal`).subarray(12, 24);
}

/** Tracks whether a promise has settled yet, without awaiting it. */
function track<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let settled = false;
  const done = () => {
    settled = true;
  };
  promise.then(done, done);
  return { settled: () => settled, promise };
}

/** Waits until the store has reached the state described. */
const until = (condition: () => boolean, what: string) =>
  waitFor(
    async () => {
      if (!condition()) throw new Error(`not yet: ${what}`);
    },
    { timeoutMs: 5_000, what },
  );

/** A few turns of the event loop: long enough for the store to run anything it has queued. */
const turns = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

const dirs: string[] = [];
const stores: Store[] = [];
function open(options: { checkpointIntervalMs?: number } = {}): { store: Store; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "plinth-durability-"));
  dirs.push(dir);
  const path = join(dir, "plinth.db");
  const store = createSqliteStore({ path, ...options });
  stores.push(store);
  return { store, path };
}

afterEach(async () => {
  syncs.hold = false;
  while (syncs.held.length > 0) releaseSync();
  syncs.calls.length = 0;
  for (const store of stores.splice(0)) await store.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("SQLite store durability (synchronous FULL)", () => {
  it("answers a transaction only after a sync that started after its commit", async () => {
    const { store } = open();
    syncs.hold = true;
    const first = track(store.transact((tx) => tx.upsertResource(resource("first"))));
    await until(() => syncs.held.length === 1, "a sync is waiting");
    await turns();
    expect(first.settled()).toBe(false);

    // Committed while the first sync is on disk: these wait for a sync of their own, which starts at once.
    const later = [
      track(store.transact((tx) => tx.upsertResource(resource("second")))),
      track(store.transact((tx) => tx.upsertResource(resource("third")))),
    ];
    await until(() => syncs.held.length === 2, "a second sync is waiting");
    // At most two syncs run at once: a commit made now waits for one of them to finish before its own starts.
    const last = track(store.transact((tx) => tx.upsertResource(resource("fourth"))));
    await turns();
    expect(syncs.held).toHaveLength(2);

    releaseSync();
    await first.promise;
    await until(() => syncs.held.length === 2, "the fourth write's sync started");
    await turns();
    expect([...later, last].map((t) => t.settled())).toEqual([false, false, false]);

    releaseSync();
    await Promise.all(later.map((t) => t.promise));
    expect(last.settled()).toBe(false);
    releaseSync();
    await last.promise;
    // One sync for the second and third: they were committed together.
    expect(syncs.calls).toHaveLength(3);
  });

  it("settles every commit made before a sync that finishes first, even if an older sync is still running", async () => {
    const { store } = open();
    syncs.hold = true;
    const first = track(store.transact((tx) => tx.upsertResource(resource("first"))));
    await until(() => syncs.held.length === 1, "a sync is waiting");
    const second = track(store.transact((tx) => tx.upsertResource(resource("second"))));
    await until(() => syncs.held.length === 2, "a second sync is waiting");

    // The newer sync reaches the disk first: it covers the first commit too, which was written before it started.
    const newer = syncs.held.pop()!;
    syncs.realSync!(newer.fd, newer.done);
    await Promise.all([first.promise, second.promise]);
    expect(await store.getResource("t.x", "first")).toMatchObject({ name: "first" });
    releaseSync();
  });

  it("shows readers nothing that is not on disk yet", async () => {
    const { store } = open();
    await store.transact((tx) => tx.upsertResource(resource("old")));
    syncs.hold = true;
    const write = track(store.transact((tx) => tx.upsertResource(resource("new"))));
    await until(() => syncs.held.length === 1, "a sync is waiting");
    const read = track(store.getResource("t.x", "new"));
    await turns();
    expect(read.settled()).toBe(false);

    releaseSync();
    await write.promise;
    expect(await read.promise).toMatchObject({ name: "new" });
    // With nothing waiting for the disk, reads answer at once.
    expect(await store.getResource("t.x", "old")).toMatchObject({ name: "old" });
  });

  it("fails every waiting and later transaction once a sync fails", async () => {
    const { store } = open();
    syncs.hold = true;
    const write = store.transact((tx) => tx.upsertResource(resource("lost")));
    await until(() => syncs.held.length === 1, "a sync is waiting");
    releaseSync(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    await expect(write).rejects.toThrow(/could not sync its files to disk; restart the server: EIO/);
    await expect(store.transact((tx) => tx.upsertResource(resource("after")))).rejects.toThrow(/could not sync/);
    await expect(store.getResource("t.x", "after")).rejects.toThrow(/could not sync/);
  });

  it("commits transactions that arrive together once, failing only the bad ones, each with its own error", async () => {
    const { store } = open();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.transact(async (tx) => {
          await tx.upsertResource(resource(`r${i}`));
          if (i % 7 === 3) throw new Error(`bad request ${i}`);
          return i;
        }),
      ),
    );
    const failed = outcomes.flatMap((o, i) => (o.status === "rejected" ? [[i, (o.reason as Error).message]] : []));
    expect(failed).toEqual([
      [3, "bad request 3"],
      [10, "bad request 10"],
      [17, "bad request 17"],
    ]);
    expect(outcomes.filter((o) => o.status === "fulfilled").map((o) => o.value)).toHaveLength(17);
    expect(syncs.calls, "one sync for the whole batch").toHaveLength(1);
    for (let i = 0; i < 20; i++) {
      const found = await store.getResource("t.x", `r${i}`);
      if (i % 7 === 3) expect(found).toBeUndefined();
      else expect(found).toMatchObject({ name: `r${i}` });
    }
  });

  it("copies the WAL into the database file, writing on while that file syncs, and starts the WAL over only after", async () => {
    const { store, path } = open({ checkpointIntervalMs: 0 });
    syncs.hold = true;
    const first = store.transact((tx) => tx.upsertResource(resource("checkpointed")));
    await until(() => syncs.held.length === 1, "a sync is waiting");
    const wal = syncs.held[0]!.fd;
    releaseSync();
    await first;
    // Every commit is on disk, so the store checkpoints and syncs the database file.
    await until(() => syncs.held.length === 1 && syncs.held[0]!.fd !== wal, "the database file is being synced");
    const walStart = walHeader(path);

    // A write does not wait for the database file's sync...
    const next = store.transact((tx) => tx.upsertResource(resource("next")));
    await until(() => syncs.held.some((held) => held.fd === wal), "the next write's WAL is being synced");
    const walSync = syncs.held.findIndex((held) => held.fd === wal);
    const [held] = syncs.held.splice(walSync, 1);
    syncs.realSync!(held!.fd, held!.done);
    await next;
    expect(syncs.held.map((waiting) => waiting.fd)).not.toContain(wal);
    // ...but SQLite appended it to the WAL instead of starting the WAL over, which would overwrite
    // frames whose copy in the database file may not be on disk yet.
    expect(walHeader(path)).toEqual(walStart);

    releaseSync();
    // A second, short pass copies what "next" added, holding writes until the database file is synced again.
    await until(() => syncs.held.length === 1 && syncs.held[0]!.fd !== wal, "the second pass is syncing");
    const held2 = track(store.transact((tx) => tx.upsertResource(resource("after"))));
    await turns();
    expect(held2.settled()).toBe(false);
    expect(syncs.held).toHaveLength(1);
    releaseSync();
    // Now everything is in the synced database file: the write starts the WAL over.
    await until(() => syncs.held.length === 1 && syncs.held[0]!.fd === wal, "the write's WAL is being synced");
    expect(walHeader(path)).not.toEqual(walStart);
    releaseSync();
    await held2.promise;

    // The database file alone, without its WAL, holds both writes made before the WAL started over.
    syncs.hold = false;
    const copy = join(dirs[0]!, "copy");
    fs.mkdirSync(copy);
    copyFileSync(path, join(copy, "plinth.db"));
    const reopened = createSqliteStore({ path: join(copy, "plinth.db") });
    stores.push(reopened);
    expect(await reopened.getResource("t.x", "checkpointed")).toMatchObject({ name: "checkpointed" });
    expect(await reopened.getResource("t.x", "next")).toMatchObject({ name: "next" });
  });
});

describe("SQLite store: resources kept in memory for getResource", () => {
  const revised = (name: string, revision: number): ResourceRecord => ({
    ...resource(name),
    revision,
    outputs: { revision },
  });

  it("reads a resource anew once a transaction that changed it is on disk", async () => {
    const { store } = open();
    await store.transact((tx) => tx.upsertResource(revised("r", 1)));
    expect(await store.getResource("t.x", "r")).toMatchObject({ revision: 1 });
    expect(await store.getResource("t.x", "r")).toMatchObject({ revision: 1, outputs: { revision: 1 } });

    syncs.hold = true;
    const write = track(store.transact((tx) => tx.upsertResource(revised("r", 2))));
    await until(() => syncs.held.length === 1, "a sync is waiting");
    const read = track(store.getResource("t.x", "r"));
    await turns();
    expect(read.settled()).toBe(false);
    releaseSync();
    await write.promise;
    expect(await read.promise).toMatchObject({ revision: 2, outputs: { revision: 2 } });
    expect(await store.getResource("t.x", "r")).toMatchObject({ revision: 2 });
  });

  it("does not keep a row read while a transaction that changes it is still open", async () => {
    const { store } = open();
    await store.transact((tx) => tx.upsertResource(revised("r", 1)));
    const seenMeanwhile = await store.transact(async (tx) => {
      await tx.upsertResource(revised("r", 2));
      // The read connection still sees the last commit.
      return await store.getResource("t.x", "r");
    });
    expect(seenMeanwhile).toMatchObject({ revision: 1 });
    expect(await store.getResource("t.x", "r")).toMatchObject({ revision: 2 });
  });

  it("forgets a deleted resource, and keeps a rolled-back one as it was", async () => {
    const { store } = open();
    await store.transact((tx) => tx.upsertResource(revised("r", 1)));
    expect(await store.getResource("t.x", "r")).toBeDefined();
    await expect(
      store.transact(async (tx) => {
        await tx.upsertResource(revised("r", 5));
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await store.getResource("t.x", "r")).toMatchObject({ revision: 1 });
    await store.transact((tx) => tx.deleteResource("t.x", "r"));
    expect(await store.getResource("t.x", "r")).toBeUndefined();
  });

  it("hands out records nobody can change for everyone else", async () => {
    const { store } = open();
    await store.transact((tx) => tx.upsertResource(revised("r", 1)));
    const record = await store.getResource("t.x", "r");
    expect(() => {
      (record!.outputs as Record<string, unknown>).revision = 7;
    }).toThrow(TypeError);
    expect(await store.getResource("t.x", "r")).toMatchObject({ outputs: { revision: 1 } });
  });
});
