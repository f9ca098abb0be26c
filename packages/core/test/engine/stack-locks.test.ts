import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type StackLock,
  lockHolderMayBeAlive,
  readStackLocks,
  stackLockDir,
} from "../../src/engine/pulumi/stack-locks.ts";
import { engineDataDir } from "./support/engine-fixture.ts";

// Pure rules; the engine's use of them on real lock files is in pulumi-engine-recovery.test.ts.
describe("whether a stack lock's holder may still be alive", () => {
  const now = Date.parse("2026-12-02T12:00:00Z");
  const judgement = { host: "here", now, staleMs: 60_000, isAlive: (pid: number) => pid === 42 };
  const lock = (fields: Partial<StackLock>): StackLock => ({ file: "lock.json", takenAt: now - 1_000, ...fields });

  it("on this host, the pid decides", () => {
    expect(lockHolderMayBeAlive(lock({ hostname: "here", pid: 42 }), judgement)).toBe(true);
    expect(lockHolderMayBeAlive(lock({ hostname: "here", pid: 43 }), judgement)).toBe(false);
  });

  it("on another host, or unreadable, it is presumed alive until the lock is stale", () => {
    expect(lockHolderMayBeAlive(lock({ hostname: "there", pid: 43 }), judgement)).toBe(true);
    expect(lockHolderMayBeAlive({ file: "torn.json" }, judgement)).toBe(true);
    expect(lockHolderMayBeAlive(lock({ hostname: "there", pid: 43, takenAt: now - 61_000 }), judgement)).toBe(false);
  });

  it("on another host, its replicas' beats decide: dead once every replica that may have taken it is silent", () => {
    const beat = (replica: string, startedMsAgo: number, silentMs: number) => ({
      replica,
      host: "there",
      pid: 7,
      startedMsAgo,
      silentMs,
    });
    const judge = (beats: ReturnType<typeof beat>[], taken = lock({ hostname: "there", pid: 43 })) =>
      lockHolderMayBeAlive(taken, {
        ...judgement,
        beats: new Map([["there", beats]]),
        replicaSilenceMs: 20_000,
        clockSlackMs: 100,
      });
    expect(judge([beat("old", 5_000, 500)])).toBe(true);
    expect(judge([beat("old", 5_000, 21_000)])).toBe(false);
    // Restarted after the lock was taken, a replica of that host cannot hold it; the one before it is silent.
    expect(judge([beat("old", 50_000, 30_000), beat("new", 800, 100)])).toBe(false);
    // Only replicas that started after the lock: nobody known could have taken it, so it is presumed alive.
    expect(judge([beat("new", 800, 100)])).toBe(true);
    expect(judge([beat("old", 5_000, 21_000)], lock({ hostname: "elsewhere", pid: 43 }))).toBe(true);
    expect(judge([beat("old", 5_000, 21_000)], { file: "undated.json", hostname: "there", pid: 43 })).toBe(true);
  });

  it("a stale lock is stale even if its pid now names some other live process", () => {
    expect(lockHolderMayBeAlive(lock({ hostname: "here", pid: 42, takenAt: now - 61_000 }), judgement)).toBe(false);
  });
});

describe("reading a stack's lock files", () => {
  it("reads pid, host and time, and dates a lock it cannot read by its file, so that it too goes stale", () => {
    const backendUrl = `file://${engineDataDir()}/pulumi`;
    const dir = stackLockDir(backendUrl, "plinth", "test.topic--locked")!;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "a.json"), JSON.stringify({ pid: 7, hostname: "h", timestamp: "2026-12-02T11:00:00Z" }));
    writeFileSync(join(dir, "b.json"), "");
    utimesSync(join(dir, "b.json"), new Date("2026-12-01T00:00:00Z"), new Date("2026-12-01T00:00:00Z"));
    const locks = readStackLocks(backendUrl, "plinth", "test.topic--locked")!.sort((x, y) =>
      x.file.localeCompare(y.file),
    );
    expect(locks).toEqual([
      { file: join(dir, "a.json"), pid: 7, hostname: "h", takenAt: Date.parse("2026-12-02T11:00:00Z") },
      { file: join(dir, "b.json"), takenAt: Date.parse("2026-12-01T00:00:00Z") },
    ]);
    const judgement = { host: "here", now: Date.parse("2026-12-02T11:00:01Z"), staleMs: 60_000, isAlive: () => true };
    expect(locks.map((lock) => lockHolderMayBeAlive(lock, judgement))).toEqual([true, false]);
    expect(readStackLocks("postgres://db/state", "plinth", "test.topic--locked")).toBeUndefined();
  });
});
