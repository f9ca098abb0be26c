import * as pulumi from "@pulumi/pulumi";
import type { MockResourceArgs } from "@pulumi/pulumi/runtime/index.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DatabaseSpec, type PostgresSettings, postgresDatabase } from "../src/index.ts";
import { databaseSpec, resolvedSpec, settings } from "./support/fixtures.ts";

/** Resolves a Pulumi output (or plain value), secrets included, once the mocks have answered. */
function settled<T>(value: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.unsecret(pulumi.output(value)).apply((inner) => resolve(inner as T)));
}

async function run(spec: DatabaseSpec, settingsUsed: PostgresSettings = settings) {
  const outputs = await postgresDatabase.program({ name: "orders", spec, settings: settingsUsed });
  return Object.fromEntries(
    await Promise.all(Object.entries(outputs).map(async ([key, value]) => [key, await settled(value)] as const)),
  );
}

const secretWire = (value: string) => ({ [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value });

describe("postgres.database program (Pulumi mocks)", () => {
  let registered: MockResourceArgs[];
  beforeEach(async () => {
    process.env.PLINTH_TEST_UNUSED_PASSWORD = "fixture-only-env-admin-value";
    registered = [];
    // A fresh mock monitor per test; the "provider" answers with a password of its own, as the real one generates.
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push(args);
          return { id: args.inputs.database as string, state: { ...args.inputs, password: "fixture-generated" } };
        },
        call: () => ({}),
      },
      "plinth",
      "postgres.database--orders",
      false,
    );
  });
  afterEach(() => {
    delete process.env.PLINTH_TEST_UNUSED_PASSWORD;
  });
  const database = () => registered.find((args) => args.type === "pulumi-nodejs:dynamic/postgres:Database");

  it("declares one database resource with the resolved spec, the admin password as a secret", async () => {
    await run(resolvedSpec("orders", { extensions: ["pgcrypto", "citext"], rotation: 2 }));
    expect(registered).toHaveLength(1);
    expect(database()?.name).toBe("orders");
    const { __provider: provider, ...inputs } = database()!.inputs as Record<string, unknown>;
    expect(inputs).toEqual({
      connection: {
        host: "db-main.internal",
        port: 5432,
        user: "plinth_admin",
        database: "postgres",
        sslmode: "disable",
      },
      adminPassword: secretWire("fixture-only-env-admin-value"),
      instance: "main",
      database: "orders",
      owner: "orders_owner",
      connectionLimit: 10,
      extensions: ["citext", "pgcrypto"],
      rotation: 2,
    });
    // The provider travels serialized and self-contained: its SQL is in it, its packages are required at call time.
    expect(provider).toEqual(expect.stringContaining("create role"));
    expect(provider).toEqual(expect.stringContaining('require("pg")'));
  });

  it("returns where to connect, and the password and a connection URI (the secret outputs)", async () => {
    const outputs = await run(resolvedSpec("orders"));
    expect(outputs).toEqual({
      instance: "main",
      host: "db-main.internal",
      port: 5432,
      database: "orders",
      owner: "orders_owner",
      connectionLimit: 10,
      extensions: [],
      password: "fixture-generated",
      uri: "postgresql://orders_owner:fixture-generated@db-main.internal:5432/orders?sslmode=disable",
    });
    expect(postgresDatabase.secretOutputs).toEqual(["password", "uri"]);
  });

  it("takes the admin password from the settings when written there", async () => {
    await run(resolvedSpec("orders", { instance: "small" }));
    expect(database()?.inputs.adminPassword).toEqual(secretWire("fixture-only-admin-value"));
  });

  it("refuses an unresolved spec, an unknown instance and a missing password variable, saying which", async () => {
    await expect(run(databaseSpec())).rejects.toThrow(/resolved spec/);
    await expect(run(resolvedSpec("orders", { instance: "nowhere" }))).rejects.toThrow(/unknown instance "nowhere"/);
    delete process.env.PLINTH_TEST_UNUSED_PASSWORD;
    await expect(run(resolvedSpec("orders"))).rejects.toThrow(/PLINTH_TEST_UNUSED_PASSWORD \(passwordEnv\) is not set/);
  });
});
