import { createRequire } from "node:module";
import * as pulumi from "@pulumi/pulumi";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgres } from "../src/index.ts";
import { createLocalStack } from "./support/local-stack.ts";

const { databaseProvider } = createRequire(import.meta.url)("./support/pg-database-provider.cjs") as {
  databaseProvider: pulumi.dynamic.ResourceProvider;
};

class SmokeDatabase extends pulumi.dynamic.Resource {}

// The chain plugin-postgres depends on: Automation API -> pulumi CLI ->
// dynamic provider host (pulumi-resource-pulumi-nodejs) -> PostgreSQL.
describe("Pulumi dynamic provider against a real PostgreSQL", () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const databaseProgram = (connectionLimit: number) => async () => {
    const database = new SmokeDatabase(
      databaseProvider,
      "smoke",
      { name: "plinth_smoke", connectionLimit, connectionString: pulumi.secret(server.connectionString) },
      {},
    );
    return { id: database.id };
  };

  async function connectionLimitSeenByServer(): Promise<number | undefined> {
    const client = new pg.Client({ connectionString: server.connectionString });
    await client.connect();
    try {
      const { rows } = await client.query<{ limit: number }>(
        "select datconnlimit as limit from pg_database where datname = 'plinth_smoke'",
      );
      return rows[0]?.limit;
    } finally {
      await client.end();
    }
  }

  it("creates a database, changes it in place and destroys it", async () => {
    const { stack } = await createLocalStack("postgres-smoke", databaseProgram(5));

    const created = await stack.up();
    expect(created.outputs.id?.value).toBe("plinth_smoke");
    expect(await connectionLimitSeenByServer()).toBe(5);

    stack.workspace.program = databaseProgram(10);
    const updated = await stack.up();
    expect(updated.summary.resourceChanges?.update).toBe(1);
    expect(await connectionLimitSeenByServer()).toBe(10);

    await stack.destroy();
    expect(await connectionLimitSeenByServer()).toBeUndefined();
  });
});
