import { describe, expect, it } from "vitest";
import { providerModule } from "../src/provider-module.ts";

const inputs = {
  connection: { host: "db", port: 5432, user: "admin", database: "postgres", sslmode: "disable" },
  adminPassword: "fixture-admin",
  instance: "main",
  database: "orders",
  owner: "orders_owner",
  connectionLimit: 10,
  extensions: ["citext", "pgcrypto"],
  rotation: 0,
};
/** What the provider's create (or a refresh) records: the inputs plus the password and what it observed. */
const state = { ...inputs, password: "fixture-password", passwordRotation: 0, ownerCanLogin: true };
const diff = (olds: object, news: object) => providerModule.databaseProvider.diff!("orders", olds, news);

describe("the dynamic provider's diff", () => {
  it("sees no change when the recorded state matches the inputs (extension order aside)", async () => {
    expect(await diff(state, { ...inputs, extensions: ["pgcrypto", "citext"] })).toMatchObject({
      changes: false,
      replaces: [],
    });
  });

  it.each([
    { reason: "a new connection limit", olds: state, news: { ...inputs, connectionLimit: 11 } },
    { reason: "drift of the limit (read observed another)", olds: { ...state, connectionLimit: 3 }, news: inputs },
    { reason: "an extension added", olds: state, news: { ...inputs, extensions: ["citext", "hstore", "pgcrypto"] } },
    { reason: "an extension dropped by hand", olds: { ...state, extensions: ["citext"] }, news: inputs },
    { reason: "a rotation", olds: state, news: { ...inputs, rotation: 1 } },
    { reason: "the owner changed by hand", olds: { ...state, owner: "someone" }, news: inputs },
    { reason: "the owner can no longer log in", olds: { ...state, ownerCanLogin: false }, news: inputs },
    { reason: "new admin credentials", olds: state, news: { ...inputs, adminPassword: "fixture-admin-2" } },
    {
      reason: "the instance moved",
      olds: state,
      news: { ...inputs, connection: { ...inputs.connection, port: 5433 } },
    },
  ])("updates in place for $reason", async ({ olds, news }) => {
    expect(await diff(olds, news)).toMatchObject({ changes: true, replaces: [] });
  });

  it("replaces only when the database name differs", async () => {
    expect(await diff(state, { ...inputs, database: "orders2" })).toMatchObject({
      changes: true,
      replaces: ["database"],
    });
  });
});
