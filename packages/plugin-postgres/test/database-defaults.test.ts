import { describe, expect, it } from "vitest";
import { resolveDatabaseDefaults } from "../src/index.ts";
import { databaseSpec, settings } from "./support/fixtures.ts";

describe("resolveDatabaseDefaults", () => {
  it("names the database after the resource, its owner <database>_owner, and takes the instance's connection limit", () => {
    const { spec, explanations = {} } = resolveDatabaseDefaults("orders", databaseSpec(), settings);
    expect(spec).toEqual({
      instance: "main",
      database: "orders",
      owner: "orders_owner",
      extensions: [],
      connectionLimit: 10,
      protect: false,
      rotation: 0,
    });
    expect(explanations).toEqual({
      database: "orders: the resource name",
      owner:
        "orders_owner: <database>_owner, one role per database, so its password opens this database and nothing else",
      connectionLimit: '10: the default of instance "main"',
    });
  });

  it("keeps explicit values and says what the default would have been", () => {
    const { spec, explanations = {} } = resolveDatabaseDefaults(
      "orders-db",
      databaseSpec({ database: "orders", owner: "orders_app", connectionLimit: 30 }),
      settings,
    );
    expect(spec).toMatchObject({ database: "orders", owner: "orders_app", connectionLimit: 30 });
    expect(explanations.database).toMatch(/set in the spec .*orders-db/);
    expect(explanations.owner).toMatch(/set in the spec \(the default would be orders_owner/);
    expect(explanations.connectionLimit).toBe('30: set in the spec (the default of instance "main" is 10)');
  });

  it("sorts extensions and drops repeats, so equal requests store equal specs", () => {
    const { spec } = resolveDatabaseDefaults(
      "orders",
      databaseSpec({ extensions: ["pgcrypto", "citext", "pgcrypto"] }),
      settings,
    );
    expect(spec.extensions).toEqual(["citext", "pgcrypto"]);
  });

  it("is idempotent, explanations included", () => {
    for (const input of [
      databaseSpec(),
      databaseSpec({ owner: "x_app", extensions: ["hstore", "citext"], connectionLimit: 3 }),
    ]) {
      const once = resolveDatabaseDefaults("orders", input, settings);
      const twice = resolveDatabaseDefaults("orders", once.spec, settings);
      expect(twice).toEqual(once);
    }
  });

  it("leaves the connection limit to validate when the instance is unknown", () => {
    const { spec, explanations = {} } = resolveDatabaseDefaults(
      "orders",
      databaseSpec({ instance: "nowhere" }),
      settings,
    );
    expect(spec.connectionLimit).toBeUndefined();
    expect(explanations.connectionLimit).toBeUndefined();
  });
});
