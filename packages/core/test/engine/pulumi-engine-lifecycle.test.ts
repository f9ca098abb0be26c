import type { Admin } from "@platformatic/kafka";
import { type KafkaBroker, startKafka, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPulumiEngine } from "../../src/engine/pulumi/create-pulumi-engine.ts";
import type { Engine, EngineEvent } from "../../src/index.ts";
import { createAdmin, engineDataDir, partitionsOnBroker, topicRequest } from "./support/engine-fixture.ts";

const resourceSteps = (events: EngineEvent[]): string[] =>
  events
    .filter((event) => event.kind === "resource" && event.details?.phase === "done")
    .map((event) => `${event.details?.op} ${event.details?.type}`);

// The whole life of one resource through the engine API only: real Pulumi
// CLI, real Kafka provider, real broker, checked by an independent admin client.
describe("Pulumi engine: create, no-op, grow, preview, destroy", () => {
  let broker: KafkaBroker;
  let admin: Admin;
  let engine: Engine;
  beforeAll(async () => {
    broker = await startKafka();
    admin = createAdmin(broker.bootstrapServers);
    engine = createPulumiEngine({ dataDir: engineDataDir(), passphrase: "lifecycle-test-passphrase", concurrency: 2 });
  });
  afterAll(async () => {
    await engine?.close();
    await admin?.close();
    await broker?.stop();
  });

  it("creates a topic, streams events and returns secret outputs separately", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    const request = topicRequest("orders", { partitions: 2 }, settings);
    const result = await engine.apply(request);

    expect(await partitionsOnBroker(admin, "orders")).toBe(2);
    expect(result.outputs).toEqual({ topicName: "orders", partitions: 2 });
    // One listed in the plugin's secretOutputs, one that Pulumi marks secret.
    expect(result.secretOutputs).toEqual({
      connectionToken: "token-for-orders",
      clusterKey: `key-of-${broker.bootstrapServers}`,
    });
    expect(resourceSteps(request.events)).toContain("create kafka:index/topic:Topic");
    expect(request.events.at(-1)).toMatchObject({ kind: "summary", details: { resourceChanges: { create: 3 } } });

    const again = topicRequest("orders", { partitions: 2 }, settings);
    expect(await engine.apply(again)).toEqual(result);
    expect(resourceSteps(again.events)).toEqual([]);
    expect(again.events.at(-1)).toMatchObject({ kind: "summary", details: { resourceChanges: { same: 3 } } });
  });

  it("previews a partition increase as a non-destructive update, then grows the topic", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    const preview = await engine.preview(topicRequest("orders", { partitions: 4 }, settings, { kind: "UPDATE" }));
    expect(preview).toMatchObject({ steps: { update: 1 }, destructive: false });
    expect(await partitionsOnBroker(admin, "orders")).toBe(2);

    const grown = await engine.apply(topicRequest("orders", { partitions: 4 }, settings, { kind: "UPDATE" }));
    expect(grown.outputs.partitions).toBe(4);
    expect(await partitionsOnBroker(admin, "orders")).toBe(4);

    const unchanged = await engine.preview(topicRequest("orders", { partitions: 4 }, settings, { kind: "UPDATE" }));
    expect(unchanged).toMatchObject({ steps: {}, destructive: false });
  });

  it("gives a freed slot to a change's operation before a background one that asked first", async () => {
    // One slot: operations run one at a time, in the order the engine grants the slot.
    const single = createPulumiEngine({
      dataDir: engineDataDir(),
      passphrase: "priority-test-passphrase",
      concurrency: 1,
    });
    try {
      const settings = { bootstrapServers: broker.bootstrapServers };
      const finished: string[] = [];
      const track = (label: string, operation: Promise<unknown>) => operation.then(() => finished.push(label));
      await Promise.all([
        track("change apply", single.apply(topicRequest("prio-a", { partitions: 1 }, settings))),
        track(
          "drift check",
          single.preview(topicRequest("prio-b", { partitions: 1 }, settings, { refresh: true, background: true })),
        ),
        track("change preview", single.preview(topicRequest("prio-c", { partitions: 1 }, settings))),
      ]);
      expect(finished).toEqual(["change apply", "change preview", "drift check"]);
    } finally {
      await single.close();
    }
  });

  it("gives a trickle of operations to the child that worked last, not to each warm child in turn", async () => {
    const assigned: number[] = [];
    const ready = new Set<number>();
    const pool = createPulumiEngine({
      dataDir: engineDataDir(),
      passphrase: "trickle-test-passphrase",
      concurrency: 3,
      onChild: (event) => {
        if (event.phase === "ready") ready.add(event.pid);
        if (event.phase === "assigned") assigned.push(event.pid);
      },
    });
    try {
      const settings = { bootstrapServers: broker.bootstrapServers };
      // Every child is warm and idle first: which one works is the pool's choice, not a race.
      await waitFor(async () => expect(ready.size).toBeGreaterThanOrEqual(3), {
        what: "three warm children",
        timeoutMs: 120_000,
      });
      for (const name of ["trickle-a", "trickle-b", "trickle-c"]) {
        await pool.apply(topicRequest(name, { partitions: 1 }, settings));
      }
      expect(assigned).toHaveLength(3);
      expect(new Set(assigned).size).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it("previews a delete as destructive and destroys the topic", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    const preview = await engine.preview(topicRequest("orders", { partitions: 4 }, settings, { kind: "DELETE" }));
    expect(preview).toMatchObject({ steps: { delete: 1 }, destructive: true });

    const request = topicRequest("orders", { partitions: 4 }, settings, { kind: "DELETE" });
    await engine.destroy(request);
    expect(await partitionsOnBroker(admin, "orders")).toBeUndefined();
    expect(resourceSteps(request.events)).toContain("delete kafka:index/topic:Topic");

    // Destroying what is already gone is a no-op, as a retried delete would be.
    await engine.destroy(topicRequest("orders", { partitions: 4 }, settings, { kind: "DELETE" }));
  });
});

describe("Pulumi engine: refresh (drift made out of band)", () => {
  let broker: KafkaBroker;
  let admin: Admin;
  let engine: Engine;
  beforeAll(async () => {
    broker = await startKafka();
    admin = createAdmin(broker.bootstrapServers);
    engine = createPulumiEngine({ dataDir: engineDataDir(), passphrase: "refresh-test-passphrase" });
  });
  afterAll(async () => {
    await engine?.close();
    await admin?.close();
    await broker?.stop();
  });

  it("a refreshing preview sees the drift; a refreshing apply starts from the real topic", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    await engine.apply(topicRequest("drifty", { partitions: 2 }, settings));
    await admin.createPartitions({ topics: [{ name: "drifty", count: 4 }] });

    expect(await engine.preview(topicRequest("drifty", { partitions: 2 }, settings))).toMatchObject({ steps: {} });
    // Back to 2 partitions means delete and re-create: the preview must say so.
    const refreshed = await engine.preview(topicRequest("drifty", { partitions: 2 }, settings, { refresh: true }));
    expect(refreshed).toMatchObject({ steps: { replace: 1 }, destructive: true });

    // Asking for what the topic already is: a no-op once refreshed (without, Pulumi would diff against the stale 2).
    const apply = topicRequest("drifty", { partitions: 4 }, settings, { kind: "UPDATE", refresh: true });
    expect((await engine.apply(apply)).outputs.partitions).toBe(4);
    expect(apply.events.at(-1)).toMatchObject({ kind: "summary", details: { resourceChanges: { same: 3 } } });
  });
});

describe("Pulumi engine: dynamic providers", () => {
  it("runs a plugin's dynamic provider, whose require() resolves from the plugin's own packages", async () => {
    // pnpm's bin shims export a NODE_PATH covering every package; a server started with plain `node` has none.
    const inherited = process.env.NODE_PATH;
    delete process.env.NODE_PATH;
    const engine = createPulumiEngine({ dataDir: engineDataDir(), passphrase: "dynamic-test-passphrase" });
    try {
      const request = {
        stackName: "test.echo--hello",
        type: "test.echo",
        name: "hello",
        plugin: { module: new URL("./fixtures/echo-plugin.ts", import.meta.url).href, exportName: "echoPlugin" },
        settings: {},
        resolvedSpec: { value: "hello" },
        changeId: "change-echo",
        kind: "CREATE" as const,
        attempt: 1,
      };
      expect(await engine.apply(request)).toEqual({
        outputs: { id: "echo-hello", rendered: "value: hello" },
        secretOutputs: {},
      });
      await engine.destroy({ ...request, kind: "DELETE" });
    } finally {
      await engine.close();
      if (inherited !== undefined) process.env.NODE_PATH = inherited;
    }
  });
});
