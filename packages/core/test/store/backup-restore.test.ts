import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { type PostgresServer, postgresBinDir, startPostgres } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchToEnd } from "../support/connect-helpers.ts";
import { freshDatabase } from "../support/fresh-database.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

const run = promisify(execFile);

/** One of docs/operating.md's backup and restore commands, as an operator types it. */
async function pgTool(tool: "pg_dump" | "pg_restore", args: string[]): Promise<void> {
  await run(join(postgresBinDir(), tool), args);
}

let postgres: PostgresServer | undefined;
const work = mkdtempSync(join(tmpdir(), "plinth-backup-"));
beforeAll(async () => {
  postgres = await startPostgres();
}, 120_000);
afterAll(async () => {
  await postgres?.stop();
  rmSync(work, { recursive: true, force: true });
});

const serviceOn = async (url: string): Promise<TestService> =>
  await startTestService({ config: { store: { postgres: { url } } } });

describe("backup and restore of the PostgreSQL store, as docs/operating.md says", () => {
  it("a dump taken under load restores into a fresh database with its history and secrets, and in place", async () => {
    const live = await freshDatabase(postgres!, "live");
    const before = await serviceOn(live);
    const alice = before.as("requester");
    const settled: { name: string; serial: unknown }[] = [];
    for (let i = 0; i < 5; i++) {
      const name = `kept-${i}`;
      const { change } = await alice.resources.applyResource({ type: "test.widget", name, spec: { size: i + 1 } });
      expect((await watchToEnd(alice, change!.id)).change.status).toBe(ChangeStatus.SUCCEEDED);
      const serial = await alice.resources.revealSecret({ type: "test.widget", name, key: "serial" });
      settled.push({ name, serial: toJson(ValueSchema, serial.value!) });
    }
    // Load while the dump runs: submissions and applies keep committing.
    const load = Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const { change } = await alice.resources.applyResource({
          type: "test.widget",
          name: `during-${i}`,
          spec: { size: 1 },
        });
        return change!.id;
      }),
    );
    const dump = join(work, "plinth.dump");
    await pgTool("pg_dump", ["--format=custom", `--dbname=${live}`, `--file=${dump}`]);
    const submittedDuring = await load;
    await Promise.all(submittedDuring.map(async (id) => await watchToEnd(alice, id)));
    const changesBefore = new Map(
      (await before.as("admin").changes.listChanges({ pageSize: 500 })).changes.map((c) => [c.id, c.status]),
    );
    await before.close();

    // Into a fresh database: the command for a new server or a new database (no --clean: nothing to drop).
    const fresh = await freshDatabase(postgres!, "restored");
    await pgTool("pg_restore", ["--no-owner", `--dbname=${fresh}`, dump]);
    const after = await serviceOn(fresh);
    let restoredIds: Set<string> | undefined;
    try {
      const reader = after.as("requester");
      for (const { name, serial } of settled) {
        const { resource } = await reader.resources.getResource({ type: "test.widget", name });
        expect(resource?.revision, name).toBe(1n);
        const revealed = await reader.resources.revealSecret({ type: "test.widget", name, key: "serial" });
        expect(toJson(ValueSchema, revealed.value!), name).toEqual(serial);
      }
      // Every restored change was in the live store; none is newer than it was there.
      const restored = (await after.as("admin").changes.listChanges({ pageSize: 500 })).changes;
      restoredIds = new Set(restored.map((c) => c.id));
      expect(restored.length).toBeGreaterThanOrEqual(settled.length);
      for (const change of restored) expect(changesBefore.has(change.id), change.id).toBe(true);
      // The restored server works: changes that were in flight at the dump go on to the end.
      for (const change of restored) {
        expect((await watchToEnd(reader, change.id)).change.status, change.id).toBe(ChangeStatus.SUCCEEDED);
      }
    } finally {
      await after.close();
    }

    // In place, over the live database, with the replicas stopped: --clean --if-exists drops what the dump recreates.
    await pgTool("pg_restore", ["--clean", "--if-exists", "--no-owner", `--dbname=${live}`, dump]);
    const inPlace = await serviceOn(live);
    try {
      const listed = (await inPlace.as("admin").changes.listChanges({ pageSize: 500 })).changes;
      expect(new Set(listed.map((c) => c.id))).toEqual(restoredIds);
    } finally {
      await inPlace.close();
    }
  });
});
