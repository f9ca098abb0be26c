import { Admin } from "@platformatic/kafka";
import { type KafkaBroker, startKafka } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaSettings, type TopicSpecInput, kafkaTopic, listClusterTopics } from "../src/index.ts";
import { ctx, topicSpec } from "./support/fixtures.ts";

// verify and listClusterTopics against a real broker; topics are made with a
// plain admin client, so these checks do not depend on Pulumi.
describe("against a real broker", () => {
  let broker: KafkaBroker;
  let admin: Admin;
  let settings: KafkaSettings;
  beforeAll(async () => {
    broker = await startKafka();
    admin = new Admin({ clientId: "plugin-kafka-test", bootstrapBrokers: [broker.bootstrapServers] });
    settings = KafkaSettings.parse({
      clusters: { local: { bootstrapServers: [broker.bootstrapServers], brokers: 1 } },
    });
    await admin.createTopics({
      topics: ["orders.placed.v1"],
      partitions: 6,
      replicas: 1,
      configs: [{ name: "retention.ms", value: "86400000" }],
    });
  });
  afterAll(async () => {
    await admin?.close();
    await broker?.stop();
  });

  const verify = (name: string, overrides: Partial<TopicSpecInput>) => {
    const spec = topicSpec({ cluster: "local", throughput: undefined, ...overrides });
    return kafkaTopic.verify!({ name, spec, outputs: {}, settings });
  };

  it.each([
    {
      why: "the topic as created",
      name: "orders.placed.v1",
      spec: { partitions: 6, replicationFactor: 1 },
      ready: true,
    },
    {
      why: "configs set on the topic match",
      name: "orders.placed.v1",
      spec: { partitions: 6, replicationFactor: 1, config: { "retention.ms": 86_400_000 } },
      ready: true,
    },
    {
      why: "a wrong partition count",
      name: "orders.placed.v1",
      spec: { partitions: 12, replicationFactor: 1 },
      ready: false,
    },
    {
      why: "a wrong replication factor",
      name: "orders.placed.v1",
      spec: { partitions: 6, replicationFactor: 3 },
      ready: false,
    },
    {
      why: "a config that differs",
      name: "orders.placed.v1",
      spec: { partitions: 6, replicationFactor: 1, config: { "retention.ms": 3_600_000 } },
      ready: false,
    },
    { why: "a missing topic", name: "orders.missing.v1", spec: { partitions: 6, replicationFactor: 1 }, ready: false },
  ])("verify: $why → ready $ready", async ({ name, spec, ready }) => {
    const result = await verify(name, spec);
    expect(result.ready).toBe(ready);
    expect(result.message).toBeTruthy();
  });

  it("verify reports an unreachable cluster as not ready, without throwing", async () => {
    const down = KafkaSettings.parse({ clusters: { local: { bootstrapServers: ["127.0.0.1:1"] } } });
    const spec = topicSpec({ cluster: "local", partitions: 1, replicationFactor: 1 });
    const result = await kafkaTopic.verify!({ name: "orders.placed.v1", spec, outputs: {}, settings: down });
    expect(result.ready).toBe(false);
  });

  it("defaults resolve a spec that verify then accepts for a topic created the same way", async () => {
    const { spec } = kafkaTopic.defaults!("orders.defaults.v1", topicSpec({ cluster: "local" }), { ...ctx, settings });
    await admin.createTopics({
      topics: ["orders.defaults.v1"],
      partitions: spec.partitions,
      replicas: spec.replicationFactor,
      configs: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value: String(value) })),
    });
    expect(await kafkaTopic.verify!({ name: "orders.defaults.v1", spec, outputs: {}, settings })).toMatchObject({
      ready: true,
    });
  });

  it("listClusterTopics lists the cluster's topics with their partitions, without internal ones", async () => {
    const topics = await listClusterTopics(settings, "local");
    expect(topics).toContainEqual({ name: "orders.placed.v1", partitions: 6, replicationFactor: 1 });
    expect(topics.map((topic) => topic.name)).toEqual([...topics.map((topic) => topic.name)].sort());
    expect(topics.some((topic) => topic.name.startsWith("__"))).toBe(false);
  });

  it("listClusterTopics refuses an unknown cluster", async () => {
    await expect(listClusterTopics(settings, "elsewhere")).rejects.toThrow(/unknown cluster/);
  });
});
