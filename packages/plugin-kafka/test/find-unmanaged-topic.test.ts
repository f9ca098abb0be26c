import { Admin } from "@platformatic/kafka";
import { type KafkaBroker, startKafka } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaSettings } from "../src/cluster-settings.ts";
import { findUnmanagedTopic } from "../src/find-unmanaged-topic.ts";
import { resolveTopicDefaults } from "../src/topic-defaults.ts";
import { TopicSpec } from "../src/topic-spec.ts";

describe("findUnmanagedTopic against a real broker", () => {
  let broker: KafkaBroker;
  let settings: KafkaSettings;
  beforeAll(async () => {
    broker = await startKafka();
    settings = KafkaSettings.parse({
      clusters: { local: { bootstrapServers: [broker.bootstrapServers], brokers: 1 } },
    });
    const admin = new Admin({ clientId: "unmanaged-test", bootstrapBrokers: [broker.bootstrapServers] });
    try {
      await admin.createTopics({ topics: ["made.by.hand"], partitions: 1, replicas: 1 });
    } finally {
      await admin.close();
    }
  });
  afterAll(async () => {
    await broker?.stop();
  });
  const spec = (extra: object = {}) =>
    resolveTopicDefaults(
      TopicSpec.parse({ cluster: "local", owner: { team: "payments", contact: "#payments" }, ...extra }),
      settings,
    ).spec;

  it.each([
    { reason: "the same topic exists, unmanaged", name: "made.by.hand", extra: {}, says: /adopt: true/ },
    { reason: "a topic that collides once . and _ are alike", name: "made_by.hand", extra: {}, says: /collides with/ },
    { reason: "adopting it", name: "made.by.hand", extra: { adopt: true }, says: undefined },
    { reason: "a free name", name: "brand.new", extra: {}, says: undefined },
  ])("$reason", async ({ name, extra, says }) => {
    const message = await findUnmanagedTopic(name, spec(extra), settings);
    if (says) expect(message).toMatch(says);
    else expect(message).toBeUndefined();
  });
});
