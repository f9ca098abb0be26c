import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPlinthClient } from "@plinth/sdk";
import { ImportStatus } from "@plinth/sdk/gen/plinth/v1/import_service_pb.ts";
import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { waitFor } from "@plinth/testing";
import { afterEach, describe, expect, it } from "vitest";
import type { ImportRecord } from "../../src/store/records.ts";
import { type TestService, principals, startTestService } from "../support/test-service.ts";

const client = (service: TestService, who: keyof typeof principals) =>
  createPlinthClient({ baseUrl: service.url, token: principals[who].token });

/**
 * What an approval leaves when its server stops right after the approval's
 * transaction: every team approved, the import RECORDING with every item
 * pending and none recorded. (The approval of a real scope needs a plugin
 * with an inventory; this starts from the state it commits.)
 */
function recordingImport(id: string, names: string[]): ImportRecord {
  const now = new Date().toISOString();
  const items = names.map((name) => ({
    name,
    identity: name,
    ownerTeam: "payments",
    spec: { size: 2 },
    resolvedSpec: { size: 2, color: "blue" },
  }));
  return {
    id,
    requestedBy: "alice",
    requestId: `request-${id}`,
    type: "test.widget",
    scope: "shelf",
    status: "RECORDING",
    comment: "moving in",
    rules: [{ prefix: "w-", team: "payments", contact: "#payments" }],
    items,
    skipped: [],
    pending: items,
    recorded: [],
    reviews: [{ reviewer: "rita", team: "*", decision: "APPROVED", comment: "ok", createdAt: now }],
    createdAt: now,
    updatedAt: now,
  };
}

const open: TestService[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const service of open.splice(0)) await service.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("an approved import recorded in batches", () => {
  it("is finished by ApproveImport sent again and by the next server, skipping what came under management meanwhile", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "plinth-import-"));
    dirs.push(dataDir);
    const config = { limits: { importBatchSize: 2 } };
    // No worker: nothing finishes the import on its own while the test looks at it.
    const first = await startTestService({ dataDir, config, worker: false });
    open.push(first);
    const alice = client(first, "requester");
    // Came under management after the plan: a batch skips it rather than record it twice.
    const taken = await alice.resources.applyResource({ type: "test.widget", name: "w-taken", spec: { size: 1 } });
    const names = ["w-a", "w-b", "w-c", "w-taken", "w-e"];
    await first.store.transact((tx) => tx.insertImport(recordingImport("imp-retry", names)));
    await first.store.transact((tx) => tx.insertImport(recordingImport("imp-restart", ["w-r1", "w-r2", "w-r3"])));

    const waiting = (await alice.imports.getImport({ id: "imp-retry" })).import!;
    expect(waiting.status).toBe(ImportStatus.RECORDING);
    await expect(alice.resources.getResource({ type: "test.widget", name: "w-a" })).rejects.toThrow();

    // The approval's reply was lost: the reviewer sends it again, and it finishes recording.
    const finished = (await client(first, "reviewer").imports.approveImport({ id: "imp-retry", comment: "again" }))
      .import!;
    expect(finished.status).toBe(ImportStatus.IMPORTED);
    expect(finished.resources.map((r) => r.name)).toEqual(["w-a", "w-b", "w-c", "w-e"]);
    expect(finished.skipped).toEqual([
      expect.objectContaining({ name: "w-taken", reason: expect.stringMatching(/came under management/) }),
    ]);
    for (const name of ["w-a", "w-b", "w-c", "w-e"]) {
      const { resource } = await alice.resources.getResource({ type: "test.widget", name });
      expect(resource?.status).toBe(ResourceStatus.READY);
      expect(resource?.revision).toBe(1n);
      const { revisions } = await alice.resources.listRevisions({ type: "test.widget", name });
      const { change } = await alice.changes.getChange({ id: revisions[0]!.changeId });
      expect(change?.reviewReasons.join(" ")).toContain("import imp-retry");
    }
    // The taken one keeps its own change only: the import wrote nothing of it.
    const { changes: takenChanges } = await alice.changes.listChanges({ type: "test.widget", name: "w-taken" });
    expect(takenChanges.map((c) => c.id)).toEqual([taken.change!.id]);
    // Once IMPORTED there is nothing left to approve: refused, and nothing is recorded again.
    await expect(client(first, "reviewer").imports.approveImport({ id: "imp-retry" })).rejects.toThrow(/IMPORTED/);
    expect((await alice.resources.listRevisions({ type: "test.widget", name: "w-a" })).revisions).toHaveLength(1);

    // The server stops with the other import still RECORDING; the next one finishes it without being asked.
    expect((await alice.imports.getImport({ id: "imp-restart" })).import!.status).toBe(ImportStatus.RECORDING);
    await first.close();
    open.splice(open.indexOf(first), 1);
    const second = await startTestService({ dataDir, config });
    open.push(second);
    const done = await waitFor(
      async () => {
        const got = (await client(second, "requester").imports.getImport({ id: "imp-restart" })).import!;
        if (got.status !== ImportStatus.IMPORTED) throw new Error(`still ${ImportStatus[got.status]}`);
        return got;
      },
      { what: "the stopped import finished by the next server", timeoutMs: 30_000 },
    );
    expect(done.resources.map((r) => r.name)).toEqual(["w-r1", "w-r2", "w-r3"]);
    const { resource } = await client(second, "requester").resources.getResource({ type: "test.widget", name: "w-r3" });
    expect(resource?.status).toBe(ResourceStatus.READY);
  });
});
