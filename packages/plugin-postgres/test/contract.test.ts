import { type PostgresServer, describePluginContract, startPostgres } from "@plinth/testing";
import { expect } from "vitest";
import { postgresDatabase } from "../src/index.ts";
import { settingsInput } from "./support/fixtures.ts";
import { adminQuery, databaseSeen, extensionsOf, roleExists } from "./support/server-queries.ts";

/** The server the real steps run against (set by `setup`); checks query it independently of the plugin. */
let server: PostgresServer | undefined;
const running = (): PostgresServer => {
  if (!server) throw new Error("the PostgreSQL server did not start");
  return server;
};
const names = (spec: Record<string, unknown>) => ({ database: String(spec.database), owner: String(spec.owner) });

describePluginContract(postgresDatabase, {
  settings: settingsInput,
  valid: [
    { name: "orders", spec: { instance: "main" }, description: "the least spec (defaults fill the rest)" },
    {
      name: "orders-db",
      spec: { instance: "main", database: "orders", owner: "orders_app", extensions: ["pgcrypto", "citext"] },
      description: "a database name apart from the resource name, an owner, extensions",
    },
    {
      name: "reports",
      spec: { instance: "small", connectionLimit: 100, protect: true, rotation: 3 },
      description: "every limit at its guardrail, protected, rotated",
    },
  ],
  invalid: [
    { name: "orders", spec: {}, field: "instance", description: "no instance" },
    { name: "orders", spec: { instance: "nope" }, field: "instance", description: "an unknown instance" },
    { name: "Orders", spec: { instance: "main" }, field: "name", description: "an upper-case name" },
    { name: "select", spec: { instance: "main" }, field: "name", description: "a reserved word" },
    { name: "x", spec: { instance: "main", database: "template1" }, field: "database", description: "a template" },
    { name: "orders", spec: { instance: "main", owner: "pg_monitor" }, field: "owner", description: "a pg_ role" },
    { name: "orders", spec: { instance: "main", extensions: ["plpython3u"] }, field: "extensions.0" },
    { name: "orders", spec: { instance: "main", connectionLimit: 51 }, field: "connectionLimit" },
    { name: "orders", spec: { instance: "main", colour: "red" }, field: "colour", description: "an unknown field" },
    {
      name: "orders",
      spec: { instance: "main", owner: "orders_app2" },
      previous: { instance: "main", owner: "orders_app" },
      field: "owner",
      description: "another owner than before",
    },
    {
      name: "orders",
      spec: { instance: "main", rotation: 1 },
      previous: { instance: "main", rotation: 2 },
      field: "rotation",
      description: "a lower rotation than before",
    },
  ],
  sameIdentity: [
    {
      description: "limit, extensions, protection and rotation change",
      name: "orders",
      spec: { instance: "main" },
      edited: { instance: "main", connectionLimit: 5, extensions: ["citext"], protect: true, rotation: 1 },
    },
  ],
  real: {
    plugin: { module: new URL("../src/index.ts", import.meta.url).href, export: "postgresDatabase" },
    async setup() {
      server = await startPostgres();
      const { host, port, user, password } = server;
      return {
        settings: { instances: { local: { host, port, adminUser: user, adminPassword: password } } },
        stop: () => running().stop(),
      };
    },
    name: "contract_orders",
    create: { instance: "local", extensions: ["pgcrypto"] },
    update: { instance: "local", extensions: ["citext", "pgcrypto"], connectionLimit: 30 },
    check: async ({ spec }) => {
      const { database, owner } = names(spec);
      expect(await databaseSeen(running(), database)).toEqual({ owner, connectionLimit: spec.connectionLimit });
      expect(await extensionsOf(running(), database)).toEqual(spec.extensions);
    },
    checkGone: async ({ spec }) => {
      const { database, owner } = names(spec);
      expect(await databaseSeen(running(), database)).toBeUndefined();
      expect(await roleExists(running(), owner)).toBe(false);
    },
    drift: async ({ spec }) => {
      await adminQuery(running(), `alter database "${names(spec).database}" connection limit 2`);
    },
  },
});
