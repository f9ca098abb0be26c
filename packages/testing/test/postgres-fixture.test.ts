import { existsSync } from "node:fs";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { findSecretValues } from "../src/contract/secret-leaks.ts";
import { postgresRowsText, pulumiBackendRowsText } from "../src/contract/stored-rows.ts";
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
      await secretScanReadsRows(server.connectionString);
    } finally {
      await server.stop();
    }
    expect(existsSync(server.dir)).toBe(false);
  });
});

/**
 * The contract suite's secret scan on PostgreSQL (on this file's server, so no second one starts): a store
 * row and a postgres:// Pulumi backend's object (its bytes base64 in a JSON `data` field) that hold a secret
 * are both found, the backend's only once decoded.
 */
async function secretScanReadsRows(connectionString: string): Promise<void> {
  const secret = "s3cret-0123456789abcdef";
  // Not on a 3-byte boundary inside the object: there, base64 of the whole shows no base64 of the secret alone.
  const checkpoint = JSON.stringify({ version: 31, outputs: { password: secret } });
  expect(checkpoint.indexOf(secret) % 3).not.toBe(0);
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query("create table audit_log (id int, details jsonb)");
    await client.query("insert into audit_log values (1, $1)", [
      JSON.stringify({ note: `dsn=host password=${secret}` }),
    ]);
    await client.query("create table pulumi_state (key text primary key, data json not null)");
    await client.query("insert into pulumi_state values ($1, $2)", [
      "p/.pulumi/stacks/plinth/s.json",
      JSON.stringify({ data: Buffer.from(checkpoint).toString("base64") }),
    ]);
  } finally {
    await client.end();
  }
  const store = await postgresRowsText({ connectionString }, ["pulumi_state"]);
  const backend = await pulumiBackendRowsText(`${connectionString}?sslmode=disable&table=pulumi_state`);
  expect(store).not.toContain("pulumi_state");
  expect(findSecretValues({ password: [secret] }, { store, backend })).toEqual([
    'secret output "password" appears in store',
    'secret output "password" appears in backend',
  ]);
  // Read as stored, the backend's row hides the secret: the scan must decode it.
  const raw = await postgresRowsText({ connectionString }, ["audit_log"]);
  expect(findSecretValues({ password: [secret] }, { raw })).toEqual([]);
}
