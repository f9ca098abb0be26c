import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Admin } from "@platformatic/kafka";
import { type KafkaBroker, type PostgresServer, startKafka, startPostgres } from "@plinth/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPulumiEngine } from "../../src/engine/pulumi/create-pulumi-engine.ts";
import { openPostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { type Engine, EngineError } from "../../src/index.ts";
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

  it("leaves a lock alone while its holder lives (on this host: its pid; on another: its replica's beats), however long the lease, and clears it once the holder is gone", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    // The server's store in the same database, as main.ts has it by default; its beats are on the database's clock.
    const store = await openPostgresStore({ connection: { url: database.connectionString }, poolSize: 2 });
    // Waits shorter than the defaults: a live holder makes the attempt fail retryable after 10 s instead of 35 s. The
    // silence stays well above a loaded test process's pauses, or the child would stop its own operation instead.
    const impatient = createPulumiEngine({
      dataDir: engineDataDir(),
      backendUrl: `${database.connectionString}?sslmode=disable`,
      passphrase: "postgres-backend-passphrase",
      parentSilenceMs: 3_000,
      killGraceMs: 1_000,
      // A replica is dead after 13 s without a beat.
      replicaBeats: (host) => store.transact((tx) => tx.replicaBeats(host), { lane: "lease" }),
    });
    // A process of this host in the lock, as a paused replica's Pulumi CLI would be: its update may still be writing.
    const holder = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    const client = new pg.Client({ connectionString: database.connectionString });
    await client.connect();
    const plantLock = async (holderPid: number, holderHost: string) => {
      const key = `${database.database}/.pulumi/locks/organization/plinth/test.topic--pg-locked/${randomUUID()}.json`;
      const content = { pid: holderPid, username: "plinth", hostname: holderHost, timestamp: new Date().toISOString() };
      await client.query("INSERT INTO pulumi_state (key, data) VALUES ($1, $2)", [
        key,
        JSON.stringify({ data: Buffer.from(JSON.stringify(content)).toString("base64") }),
      ]);
      return async () => (await client.query("SELECT key FROM pulumi_state WHERE key = $1", [key])).rowCount;
    };
    const elsewhere = { replica: "elsewhere:4242:test", host: "plinth-test-elsewhere", pid: 4242 };
    const beat = () => store.transact((tx) => tx.beatReplica(elsewhere), { lane: "lease" });
    let beating: NodeJS.Timeout | undefined;
    try {
      await impatient.apply(topicRequest("pg-locked", { partitions: 1 }, settings));
      let locks = await plantLock(holder.pid!, hostname());

      const refused = await impatient.apply(topicRequest("pg-locked", { partitions: 2 }, settings)).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(EngineError);
      expect(refused).toMatchObject({ code: "CONCURRENT_UPDATE", retryable: true });
      expect(await locks()).toBe(1);
      expect(await partitionsOnBroker(admin, "pg-locked")).toBe(1);

      const gone = new Promise((resolve) => holder.once("exit", resolve));
      holder.kill("SIGKILL");
      await gone;
      await impatient.apply(topicRequest("pg-locked", { partitions: 2 }, settings));
      expect(await partitionsOnBroker(admin, "pg-locked")).toBe(2);
      expect(await locks()).toBe(0);

      // Another host's replica beats and holds the stack: its CLI's pid means nothing here, and a timed wait proves
      // nothing (the replica may be paused with a child it still runs). Left alone, however long the wait.
      await beat();
      locks = await plantLock(4242, elsewhere.host);
      beating = setInterval(() => void beat(), 1_000);
      const refusedAgain = await impatient.apply(topicRequest("pg-locked", { partitions: 3 }, settings)).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refusedAgain).toMatchObject({ code: "CONCURRENT_UPDATE", retryable: true });
      expect((refusedAgain as Error).message).toContain(elsewhere.host);
      expect(await locks()).toBe(1);
      expect(await partitionsOnBroker(admin, "pg-locked")).toBe(2);

      // It stops beating: an hour of silence on the database's clock, and it was running when the lock was taken.
      clearInterval(beating);
      await beat();
      await client.query(
        "UPDATE replica_beats SET beat_at = now() - interval '1 hour', started_at = now() - interval '2 hours' WHERE replica = $1",
        [elsewhere.replica],
      );
      await impatient.apply(topicRequest("pg-locked", { partitions: 3 }, settings));
      expect(await partitionsOnBroker(admin, "pg-locked")).toBe(3);
      expect(await locks()).toBe(0);
    } finally {
      clearInterval(beating);
      holder.kill("SIGKILL");
      await client.end();
      await impatient.close();
      await store.close();
    }
  });
});
