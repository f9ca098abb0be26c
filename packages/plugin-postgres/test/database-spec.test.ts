import { describe, expect, it } from "vitest";
import { DatabaseSpec, PostgresSettings } from "../src/index.ts";

const paths = (input: unknown) =>
  DatabaseSpec.safeParse(input).error?.issues.map((issue) =>
    [...issue.path, ...("keys" in issue ? issue.keys : [])].join("."),
  );

describe("DatabaseSpec", () => {
  it("needs only an instance, and fills protect, rotation and extensions", () => {
    expect(DatabaseSpec.parse({ instance: "main" })).toEqual({
      instance: "main",
      extensions: [],
      protect: false,
      rotation: 0,
    });
  });

  it.each([
    { reason: "no instance", input: {}, path: "instance" },
    {
      reason: "an unknown field (a typo must not be ignored)",
      input: { instance: "main", conectionLimit: 5 },
      path: "conectionLimit",
    },
    {
      reason: "a fractional connection limit",
      input: { instance: "main", connectionLimit: 2.5 },
      path: "connectionLimit",
    },
    {
      reason: "a connection limit of 0 (nobody could connect)",
      input: { instance: "main", connectionLimit: 0 },
      path: "connectionLimit",
    },
    { reason: "a negative rotation", input: { instance: "main", rotation: -1 }, path: "rotation" },
    { reason: "an extension that is not a string", input: { instance: "main", extensions: [3] }, path: "extensions.0" },
    { reason: "an empty owner", input: { instance: "main", owner: "" }, path: "owner" },
  ])("refuses $reason at $path", ({ input, path }) => {
    expect(paths(input)).toContain(path);
  });
});

describe("PostgresSettings", () => {
  const instance = { host: "db.internal", adminUser: "plinth_admin" };
  it("takes exactly one of adminPassword and passwordEnv", () => {
    expect(PostgresSettings.safeParse({ instances: { main: { ...instance, passwordEnv: "PG_ADMIN" } } }).success).toBe(
      true,
    );
    for (const extra of [{}, { adminPassword: "x", passwordEnv: "PG_ADMIN" }]) {
      const result = PostgresSettings.safeParse({ instances: { main: { ...instance, ...extra } } });
      expect(result.error?.issues[0]?.path).toEqual(["instances", "main", "adminPassword"]);
    }
  });

  it("takes the port as a number or as digits (what ${NAME} in the service config gives)", () => {
    const port = (value: unknown) =>
      PostgresSettings.safeParse({ instances: { main: { ...instance, passwordEnv: "PG", port: value } } }).data
        ?.instances.main?.port;
    expect(port(5433)).toBe(5433);
    expect(port("5433")).toBe(5433);
    expect(port("fivefour")).toBeUndefined();
    expect(port(70_000)).toBeUndefined();
  });

  it("fills port, admin database, sslmode, allowed extensions, guardrails and defaults", () => {
    expect(
      PostgresSettings.parse({ instances: { main: { ...instance, passwordEnv: "PG_ADMIN" } } }).instances.main,
    ).toEqual({
      ...instance,
      passwordEnv: "PG_ADMIN",
      port: 5432,
      database: "postgres",
      sslmode: "disable",
      allowedExtensions: ["citext", "hstore", "pg_trgm", "pgcrypto", "uuid-ossp"],
      guardrails: { maxConnectionLimit: 100 },
      defaults: { connectionLimit: 20 },
    });
  });
});
