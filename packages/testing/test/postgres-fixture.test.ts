import { existsSync } from "node:fs";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { startPostgres } from "../src/index.ts";

describe("startPostgres", () => {
  it("runs a real server with password auth and removes it on stop", async () => {
    const server = await startPostgres();
    try {
      const client = new pg.Client({ connectionString: server.connectionString });
      await client.connect();
      const { rows } = await client.query<{ v: string }>("select current_setting('server_version') as v");
      expect(rows[0]?.v).toMatch(/^\d+/);
      await client.end();

      const wrongPassword = new pg.Client({
        connectionString: server.connectionString.replace(server.password, "nope"),
      });
      await expect(wrongPassword.connect()).rejects.toMatchObject({ code: "28P01" });
    } finally {
      await server.stop();
    }
    expect(existsSync(server.dir)).toBe(false);
  });
});
