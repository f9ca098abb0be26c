import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Code, ConnectError } from "@connectrpc/connect";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { waitFor } from "@plinth/testing";
import { afterEach, describe, expect, it } from "vitest";
import { watchToEnd } from "../support/connect-helpers.ts";
import { clientsFor, principals, testConfig } from "../support/test-service.ts";

const serverScript = join(import.meta.dirname, "../support/fake-engine-server.ts");
const children: ChildProcess[] = [];

/** A server process; applying the resource named `crashOn` kills it. */
function spawnServerProcess(dataDir: string, journal: string, crashOn?: string): ChildProcess {
  const args = ["--import", "tsx", serverScript, dataDir, journal, "40", ...(crashOn ? [crashOn] : [])];
  const child = spawn(process.execPath, args, {
    cwd: join(import.meta.dirname, "../.."),
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return child;
}

async function startServerProcess(
  dataDir: string,
  journal: string,
  crashOn?: string,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawnServerProcess(dataDir, journal, crashOn);
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on("line", (line) => line.startsWith("READY ") && resolve(line.slice(6)));
    child.once("exit", (code) => reject(new Error(`server exited with ${code} before it was ready`)));
  });
  return { url, child };
}

function journalEntries(journal: string): { changeId: string }[] {
  if (!existsSync(journal)) return [];
  return readFileSync(journal, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { changeId: string });
}

afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

describe("a server killed mid-queue", () => {
  it("completes every acknowledged change after a restart, each exactly once", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "plinth-kill-"));
    const journal = join(dataDir, "journal.ndjson");
    try {
      const first = await startServerProcess(dataDir, journal);
      const alice = clientsFor(first.url, principals.requester.token);
      const acked = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          alice.resources.applyResource({
            type: "test.widget",
            name: `kill-${i}`,
            spec: { size: 1 },
            requestId: `kill-${i}`,
          }),
        ),
      );
      const ids = acked.map((response) => response.change!.id);
      // Let a few finish, then pull the plug while the rest are queued or in flight.
      await waitFor(
        async () => {
          if (journalEntries(journal).length < 3) throw new Error("fewer than 3 applied");
        },
        { what: "first applies", timeoutMs: 30_000 },
      );
      first.child.kill("SIGKILL");
      await new Promise((resolve) => first.child.once("exit", resolve));
      const appliedBeforeKill = journalEntries(journal).length;
      expect(appliedBeforeKill).toBeLessThan(20);

      const second = await startServerProcess(dataDir, journal);
      const after = clientsFor(second.url, principals.requester.token);
      for (const id of ids) {
        const { change } = await watchToEnd(after, id);
        expect(change.status).toBe(ChangeStatus.SUCCEEDED);
        expect(change.resultRevision).toBe(1n);
      }
      const { resources } = await after.resources.listResources({ pageSize: 100 });
      expect(resources.map((r) => r.revision)).toEqual(Array(20).fill(1n));
      // The engine may have run a change twice only if it was in flight at the kill (apply is idempotent);
      // at most the worker's concurrency (2) of them.
      const counts = new Map<string, number>();
      for (const entry of journalEntries(journal)) counts.set(entry.changeId, (counts.get(entry.changeId) ?? 0) + 1);
      expect([...counts.keys()].sort()).toEqual([...ids].sort());
      expect([...counts.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(2);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("a second server on the same data directory", () => {
  it("is refused with a clear error while the first runs, and starts once the first is gone", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "plinth-twice-"));
    const config = join(dataDir, "plinth.json");
    // JSON is YAML: the real server entry point reads it as its config file.
    writeFileSync(config, JSON.stringify(testConfig(dataDir)));
    const secondServer = () =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "--config", config], {
          cwd: join(import.meta.dirname, "../.."),
          env: { ...process.env, PLINTH_PORT: "0" },
          stdio: ["ignore", "pipe", "pipe"],
        });
        children.push(child);
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.stdout.on("data", (chunk: Buffer) => {
          if (chunk.toString().includes("serving on")) child.kill("SIGTERM");
        });
        child.once("exit", (code) => resolve({ code, stderr }));
      });
    try {
      const first = await startServerProcess(dataDir, join(dataDir, "journal.ndjson"));
      const refused = await secondServer();
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`the data directory ${dataDir} is in use by another Plinth process (pid `);
      // The first one still serves.
      const { resources } = await clientsFor(first.url, principals.requester.token).resources.listResources({});
      expect(resources).toEqual([]);
      // The kernel drops the lock with its holder, however it dies.
      first.child.kill("SIGKILL");
      await new Promise((resolve) => first.child.once("exit", resolve));
      const next = await secondServer();
      expect(next.stderr).not.toContain("in use");
      expect(next.stderr).toContain('"msg":"store: SQLite"');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("a change that kills its server at every attempt", () => {
  it("ends FAILED after maxAttempts attempts instead of crashing every restart", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "plinth-crash-loop-"));
    const journal = join(dataDir, "journal.ndjson");
    const exited = (child: ChildProcess) =>
      new Promise<NodeJS.Signals | null>((resolve) =>
        child.exitCode !== null || child.signalCode !== null
          ? resolve(child.signalCode)
          : child.once("exit", (_code, signal) => resolve(signal)),
      );
    try {
      const first = await startServerProcess(dataDir, journal, "doomed");
      const alice = clientsFor(first.url, principals.requester.token);
      const { change: submitted } = await alice.resources.applyResource({
        type: "test.widget",
        name: "doomed",
        spec: { size: 1 },
        requestId: "doomed-1",
      });
      expect(await exited(first.child)).toBe("SIGKILL");
      // Each restart resumes the change, which kills the server again: attempts 2 and 3 (testConfig: maxAttempts 3).
      for (let restart = 2; restart <= 3; restart++) {
        expect(await exited(spawnServerProcess(dataDir, journal, "doomed"))).toBe("SIGKILL");
      }
      const last = await startServerProcess(dataDir, journal, "doomed");
      const after = clientsFor(last.url, principals.requester.token);
      const { change, messages } = await watchToEnd(after, submitted!.id);
      expect(change.status).toBe(ChangeStatus.FAILED);
      expect(change.attempts).toBe(3);
      expect(change.lastError).toMatch(/attempt 3 of 3 never finished/);
      expect(messages.some((m) => m.includes("no attempts left"))).toBe(true);
      // The server stays up and goes on with other work.
      const other = await after.resources.applyResource({
        type: "test.widget",
        name: "fine",
        spec: { size: 1 },
        requestId: "fine-1",
      });
      expect((await watchToEnd(after, other.change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
      expect(last.child.exitCode).toBeNull();
      expect(journalEntries(journal).map((entry) => entry.changeId)).toEqual([other.change!.id]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/**
 * A server process whose data directory is a small tmpfs of its own: mounted in a mount namespace of the server's
 * own (`unshare`, in a user namespace, so no root is needed), seen from here under `/proc/<pid>/root`.
 */
async function startOnSmallDisk(
  dataDir: string,
  journal: string,
  size: string,
): Promise<{ url: string; child: ChildProcess; disk: string }> {
  const mountThenRun = 'mount -t tmpfs -o "size=$1" plinth-disk "$2" && shift 2 && exec "$@"';
  const child = spawn(
    "unshare",
    [
      "--user",
      "--map-root-user",
      "--mount",
      "sh",
      "-c",
      mountThenRun,
      "sh",
      size,
      dataDir,
      process.execPath,
      "--import",
      "tsx",
      serverScript,
      dataDir,
      journal,
      "40",
    ],
    { cwd: join(import.meta.dirname, "../.."), stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on("line", (line) => line.startsWith("READY ") && resolve(line.slice(6)));
    child.once("exit", (code) => reject(new Error(`server exited with ${code} before it was ready`)));
  });
  return { url, child, disk: `/proc/${child.pid}/root${dataDir}` };
}

/** Writes a file until the filesystem has no room left. */
function fillDisk(file: string): void {
  const fd = openSync(file, "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
}

describe("a server whose disk fills up", () => {
  it("refuses submissions UNAVAILABLE while it is full, commits none of them, and goes on once space returns", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "plinth-full-"));
    const journalDir = mkdtempSync(join(tmpdir(), "plinth-full-journal-"));
    const journal = join(journalDir, "journal.ndjson");
    try {
      const server = await startOnSmallDisk(dataDir, journal, "16m");
      const alice = clientsFor(server.url, principals.requester.token);
      const submit = (name: string) =>
        alice.resources.applyResource({
          type: "test.widget",
          name,
          spec: { size: 1 },
          requestId: `${name}-request`,
          // Each submission writes a few KiB, so the WAL has to grow before long.
          comment: "x".repeat(4_000),
        });
      const before = await submit("before-full");
      fillDisk(join(server.disk, "filler"));

      // The WAL reuses the room it already has; submit until a commit needs more.
      const acknowledged = [before.change!.id];
      const refused: { name: string; code: Code; message: string }[] = [];
      for (let wave = 0; wave < 100 && refused.length === 0; wave++) {
        const names = Array.from({ length: 10 }, (_, i) => `full-${wave}-${i}`);
        const outcomes = await Promise.allSettled(names.map(submit));
        outcomes.forEach((outcome, i) => {
          if (outcome.status === "fulfilled") acknowledged.push(outcome.value.change!.id);
          else {
            const error = ConnectError.from(outcome.reason);
            refused.push({ name: names[i]!, code: error.code, message: error.message });
          }
        });
      }
      expect(refused.length).toBeGreaterThan(0);
      for (const refusal of refused) {
        expect(refusal.code).toBe(Code.Unavailable);
        expect(refusal.message).toMatch(/disk is full/);
      }
      // Reads are still served meanwhile.
      expect((await alice.resources.getResource({ type: "test.widget", name: "before-full" })).resource?.name).toBe(
        "before-full",
      );

      rmSync(join(server.disk, "filler"));
      // The same requests, sent again, are new changes (nothing of them was committed), in the same process.
      for (const { name } of refused) {
        const again = await submit(name);
        expect(again.deduplicated).toBe(false);
        acknowledged.push(again.change!.id);
      }
      for (const id of acknowledged) {
        expect((await watchToEnd(alice, id)).change.status).toBe(ChangeStatus.SUCCEEDED);
      }
      expect(server.child.exitCode).toBeNull();
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      // Every acknowledged change was applied and recorded once (revision 1). The engine may have run one again
      // when the disk refused the write of its outcome (apply is idempotent), so the journal is compared as a set.
      expect([...new Set(journalEntries(journal).map((entry) => entry.changeId))].sort()).toEqual(
        [...acknowledged].sort(),
      );
      const revisions: bigint[] = [];
      let pageToken = "";
      do {
        const page = await alice.resources.listResources({ pageSize: 500, pageToken });
        revisions.push(...page.resources.map((resource) => resource.revision));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      expect(revisions).toEqual(Array(acknowledged.length).fill(1n));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(journalDir, { recursive: true, force: true });
    }
  });
});
