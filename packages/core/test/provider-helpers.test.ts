import { createRequire } from "node:module";
import { type PostgresServer, startPostgres } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as ProviderHelpers from "../src/provider-helpers.cjs";

// Loaded as a dynamic provider loads it: Node's own require() of the package's entry point.
const helpers = createRequire(import.meta.url)("@plinth/core/provider-helpers") as typeof ProviderHelpers;

describe("@plinth/core/provider-helpers", () => {
  it("generates passwords of 32 URI-safe characters, never the same twice", () => {
    const passwords = new Set(Array.from({ length: 100 }, () => helpers.generatePassword()));
    expect(passwords.size).toBe(100);
    for (const password of passwords) expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(helpers.generatePassword(48)).toHaveLength(64);
    expect(() => helpers.generatePassword(8)).toThrow(/at least 16 random bytes/);
  });

  it("logs structured lines with credentials, URI passwords and concealed values redacted", () => {
    const lines: string[] = [];
    const logger = helpers.createProviderLogger("acme.widget", { write: (line) => lines.push(line) });
    const generated = helpers.generatePassword();
    logger.conceal(generated);
    logger.info(
      {
        role: "orders_owner",
        password: "hunter2-plain",
        nested: { adminPassword: "admin-secret", apiToken: "tok-123", uri: "postgres://admin:pw-in-uri@db:5432/x" },
        outputs: { note: `made with ${generated}` },
        error: new Error(`login failed for ${generated}`),
      },
      `created the role; its password is ${generated}`,
    );
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    for (const secret of ["hunter2-plain", "admin-secret", "tok-123", "pw-in-uri", generated]) {
      expect(line).not.toContain(secret);
    }
    expect(JSON.parse(line)).toMatchObject({
      level: "info",
      component: "acme.widget",
      role: "orders_owner",
      password: "[redacted]",
      nested: { adminPassword: "[redacted]", apiToken: "[redacted]", uri: "postgres://admin:[redacted]@db:5432/x" },
      outputs: { note: "made with [redacted]" },
      error: { error: "login failed for [redacted]" },
      msg: "created the role; its password is [redacted]",
    });
  });

  describe("against a real PostgreSQL server", () => {
    let server: PostgresServer;
    beforeAll(async () => {
      server = await startPostgres();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("sets a role's password through its SCRAM verifier, and the role logs in with the password", async () => {
      const connection = {
        host: server.host,
        port: server.port,
        user: server.user,
        database: server.database,
        sslmode: "disable" as const,
      };
      const password = helpers.generatePassword();
      const verifier = helpers.scramSha256Verifier(password);
      expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
      expect(verifier).not.toContain(password);
      await helpers.withPostgresClient(
        helpers.postgresClientConfig(connection, server.password, undefined, "provider-helpers-test"),
        async (client) => {
          await client.query(`create role helper_login with login password '${verifier}'`);
        },
      );
      const who = await helpers.withPostgresClient(
        helpers.postgresClientConfig({ ...connection, user: "helper_login" }, password),
        async (client) => (await client.query<{ user: string }>("select current_user as user")).rows[0]?.user,
      );
      expect(who).toBe("helper_login");
      await expect(
        helpers.withPostgresClient(
          helpers.postgresClientConfig({ ...connection, user: "helper_login" }, `${password}x`),
          async () => undefined,
        ),
      ).rejects.toThrow(/password authentication failed/);
    });
  });
});
