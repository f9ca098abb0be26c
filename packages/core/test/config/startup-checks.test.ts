import { mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPlinthClient } from "@plinth/sdk";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { type PostgresServer, freePort, startPostgres } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plainLines, startServerProcess as startServer } from "../support/server-process-start.ts";
import { principals } from "../support/test-service.ts";

describe("a server starting on a store and a Pulumi backend", { timeout: 180_000 }, () => {
  let database: PostgresServer;
  beforeAll(async () => {
    database = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await database?.stop();
  });

  it("derives a Pulumi backend it can use from a store URL without sslmode, against a PostgreSQL without TLS", async () => {
    const started = await startServer({ store: { postgres: { url: database.connectionString } } });
    expect(started.stderr).not.toMatch(/does not answer/);
    expect(started).toMatchObject({ served: true, code: 0 });
  });

  it("refuses to start, in one line saying what to fix, on a backend URL that needs TLS the server lacks", async () => {
    const started = await startServer({
      store: { postgres: { url: database.connectionString } },
      engine: { passphrase: "test-passphrase", backendUrl: database.connectionString },
    });
    expect(started.served).toBe(false);
    expect(started.code).toBe(1);
    const lines = plainLines(started.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^plinth: the Pulumi state backend does not answer: .*add \?sslmode=disable to engine\.backendUrl$/,
    );
    expect(lines[0]).not.toContain(database.password);
  });

  it("refuses to start, in one line, on a store that does not answer", async () => {
    const url = new URL(database.connectionString);
    url.port = String(await freePort());
    const started = await startServer({
      store: { postgres: { url: url.toString(), timeouts: { connectMs: 2_000 } } },
      engine: { passphrase: "test-passphrase", backendUrl: `file://${join(tmpdir(), "plinth-unused-state")}` },
    });
    expect(started.served).toBe(false);
    expect(started.code).toBe(1);
    const lines = plainLines(started.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^plinth: the PostgreSQL store does not answer: .*check store\.postgres$/);
    expect(lines[0]).not.toContain(database.password);
  });
});

describe("a server starting on a SQLite store whose Pulumi state is not there", { timeout: 300_000 }, () => {
  it("refuses to start, in one line, when the file backend holds none of the applied resources' stacks", async () => {
    const dataDir = mkdtempSync(join(process.env.PLINTH_TEST_TMP ?? tmpdir(), "plinth-stacks-"));
    try {
      const config = { dataDir, reconcile: { intervalMs: 0 } };
      const first = await startServer(config, async (url) => {
        const alice = createPlinthClient({ baseUrl: url, token: principals.requester.token });
        const { change } = await alice.apply("test.widget", "kept", { size: 1 });
        expect((await alice.waitForChange(change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
      });
      expect(first).toMatchObject({ served: true, code: 0 });

      // The store restored without the Pulumi state beside it (the default file backend, <dataDir>/pulumi).
      renameSync(join(dataDir, "pulumi"), join(dataDir, "pulumi-elsewhere"));
      const lost = await startServer(config);
      expect(lost.served).toBe(false);
      expect(lost.code).toBe(1);
      const lines = plainLines(lost.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^plinth: the Pulumi state backend has no stack for the resources the store holds as applied \(test\.widget kept; none of 1 checked\): point engine\.backendUrl at .*docs\/operating\.md/,
      );

      // Back in place of the empty one that start made.
      rmSync(join(dataDir, "pulumi"), { recursive: true });
      renameSync(join(dataDir, "pulumi-elsewhere"), join(dataDir, "pulumi"));
      expect(await startServer(config)).toMatchObject({ served: true, code: 0 });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
