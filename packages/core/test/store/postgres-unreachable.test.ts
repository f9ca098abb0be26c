import { Code, ConnectError } from "@connectrpc/connect";
import { startPostgres } from "@plinth/testing";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { startTestService } from "../support/test-service.ts";

/** The call's outcome as a word: "ok" or the Connect code's name. */
const outcome = (call: Promise<unknown>): Promise<string> =>
  call.then(
    () => "ok",
    (error: unknown) => Code[ConnectError.from(error).code]!,
  );

// What a client sees while PostgreSQL fails over, or while a session holds a lock and does not let go: a code it
// retries, not INTERNAL, and not a wait without end.
describe("a PostgreSQL store that cannot be reached", () => {
  it("answers UNAVAILABLE, which the SDK retries with the same request id", async () => {
    const database = await startPostgres();
    const service = await startTestService({ config: { store: { postgres: { url: database.connectionString } } } });
    try {
      const alice = service.as("requester");
      await alice.resources.applyResource({ type: "test.widget", name: "before", spec: { size: 1 } });
      await database.stop();

      for (const call of [
        () => alice.resources.getResource({ type: "test.widget", name: "before" }),
        () =>
          alice.resources.applyResource({ type: "test.widget", name: "during", spec: { size: 1 }, requestId: "r1" }),
      ]) {
        const error = await call().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConnectError);
        expect((error as ConnectError).code).toBe(Code.Unavailable);
        expect((error as ConnectError).rawMessage).not.toContain(database.password);
      }
    } finally {
      await service.close().catch(() => undefined);
      await database.stop();
    }
  });

  it(
    "answers UNAVAILABLE within the lock timeout on a resource whose lock a stalled session holds, and serves the others",
    { timeout: 120_000 },
    async () => {
      const database = await startPostgres();
      const poolSize = 4;
      const service = await startTestService({
        config: {
          store: {
            postgres: { url: database.connectionString, poolSize, timeouts: { lockMs: 500, connectMs: 2_000 } },
          },
        },
      });
      // Stands for a replica paused inside a transaction: it holds the resource's lock (postgres-store.ts, rule 1).
      const stalled = new pg.Client({ connectionString: database.connectionString });
      try {
        const alice = service.as("requester");
        await alice.resources.applyResource({ type: "test.widget", name: "held", spec: { size: 1 } });
        await stalled.connect();
        await stalled.query("BEGIN");
        await stalled.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
          JSON.stringify(["resource", "test.widget", "held"]),
        ]);

        const started = Date.now();
        // More requests on the held resource than the pool has connections: none may keep the others waiting.
        const held = Array.from({ length: poolSize * 3 }, (_, i) =>
          outcome(
            alice.resources.applyResource(
              { type: "test.widget", name: "held", spec: { size: 2 }, requestId: `held-${i}` },
              { timeoutMs: 20_000 },
            ),
          ),
        );
        const others = Array.from({ length: 3 }, (_, i) =>
          outcome(
            alice.resources.applyResource(
              { type: "test.widget", name: `free-${i}`, spec: { size: 1 } },
              { timeoutMs: 20_000 },
            ),
          ),
        );
        const reads = outcome(
          alice.resources.getResource({ type: "test.widget", name: "held" }, { timeoutMs: 20_000 }),
        );
        expect(await Promise.all(held)).toEqual(held.map(() => "Unavailable"));
        // The lock timeout (500 ms) per wave of requests as wide as the pool, with room for a loaded machine.
        expect(Date.now() - started).toBeLessThan(15_000);
        expect(await Promise.all(others)).toEqual(others.map(() => "ok"));
        expect(await reads).toBe("ok");

        // Once the session lets go, the same request (its id) goes through.
        await stalled.query("ROLLBACK");
        const retried = await alice.resources.applyResource({
          type: "test.widget",
          name: "held",
          spec: { size: 2 },
          requestId: "held-0",
        });
        expect(retried.change?.id).toMatch(/./);
      } finally {
        await stalled.end().catch(() => undefined);
        await service.close().catch(() => undefined);
        await database.stop();
      }
    },
  );
});
