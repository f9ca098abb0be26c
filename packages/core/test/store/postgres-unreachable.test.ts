import { Code, ConnectError } from "@connectrpc/connect";
import { startPostgres } from "@plinth/testing";
import { describe, expect, it } from "vitest";
import { startTestService } from "../support/test-service.ts";

// What a client sees while PostgreSQL fails over: a code it retries, not INTERNAL.
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
});
