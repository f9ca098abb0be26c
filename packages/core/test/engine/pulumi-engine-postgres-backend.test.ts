import type { Admin } from "@platformatic/kafka";
import { type KafkaBroker, type PostgresServer, startKafka, startPostgres } from "@plinth/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPulumiEngine } from "../../src/engine/pulumi/create-pulumi-engine.ts";
import type { Engine } from "../../src/index.ts";
import { createAdmin, engineDataDir, partitionsOnBroker, topicRequest } from "./support/engine-fixture.ts";

// Pulumi state in PostgreSQL (the DIY postgres:// backend), for several servers sharing one state.
describe("Pulumi engine with state in PostgreSQL", () => {
  let broker: KafkaBroker;
  let database: PostgresServer;
  let admin: Admin;
  let engine: Engine;
  beforeAll(async () => {
    [broker, database] = await Promise.all([startKafka(), startPostgres()]);
    admin = createAdmin(broker.bootstrapServers);
    engine = createPulumiEngine({
      dataDir: engineDataDir(),
      backendUrl: `${database.connectionString}?sslmode=disable`,
      passphrase: "postgres-backend-passphrase",
    });
  });
  afterAll(async () => {
    await engine?.close();
    await admin?.close();
    await Promise.all([broker?.stop(), database?.stop()]);
  });

  it("keeps each stack's state in the database and converges on re-apply", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    await engine.apply(topicRequest("pg-state", { partitions: 2 }, settings));
    expect(await partitionsOnBroker(admin, "pg-state")).toBe(2);

    const client = new pg.Client({ connectionString: database.connectionString });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(
        "select count(*) as n from information_schema.tables where table_schema = 'public'",
      );
      expect(Number(rows[0]?.n)).toBeGreaterThan(0);
    } finally {
      await client.end();
    }

    // A second engine with another data dir but the same backend sees the same state: a no-op.
    const other = createPulumiEngine({
      dataDir: engineDataDir(),
      backendUrl: `${database.connectionString}?sslmode=disable`,
      passphrase: "postgres-backend-passphrase",
    });
    try {
      const again = topicRequest("pg-state", { partitions: 2 }, settings);
      await other.apply(again);
      expect(again.events.at(-1)).toMatchObject({ kind: "summary", details: { resourceChanges: { same: 3 } } });
    } finally {
      await other.close();
    }
  });
});
