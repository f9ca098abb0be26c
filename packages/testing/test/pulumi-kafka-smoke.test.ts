import * as kafka from "@pulumi/kafka";
import { Admin } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KafkaBroker, startKafka } from "../src/index.ts";
import { createLocalStack } from "./support/local-stack.ts";

// The real chain: Automation API -> pulumi CLI -> pulumi-resource-kafka -> broker,
// checked by an independent admin client.
describe("Pulumi + @pulumi/kafka against a real broker", () => {
  let broker: KafkaBroker;
  let admin: Admin;
  beforeAll(async () => {
    broker = await startKafka();
    admin = new Admin({ clientId: "smoke-check", bootstrapBrokers: [broker.bootstrapServers] });
  });
  afterAll(async () => {
    await admin?.close();
    await broker?.stop();
  });

  const topicProgram = (partitions: number) => async () => {
    const provider = new kafka.Provider("local", { bootstrapServers: [broker.bootstrapServers], tlsEnabled: false });
    const topic = new kafka.Topic(
      "smoke",
      { name: "plinth-smoke", partitions, replicationFactor: 1, config: { "retention.ms": "3600000" } },
      { provider },
    );
    return { name: topic.name, partitions: topic.partitions };
  };

  async function partitionsSeenByBroker(): Promise<number | undefined> {
    if (!(await admin.listTopics()).includes("plinth-smoke")) return undefined;
    const metadata = await admin.metadata({ topics: ["plinth-smoke"], forceUpdate: true });
    return metadata.topics.get("plinth-smoke")?.partitionsCount;
  }

  it("creates a topic with 3 partitions, grows it to 6 and destroys it", async () => {
    const { stack } = await createLocalStack("kafka-smoke", topicProgram(3));

    const created = await stack.up();
    expect(created.summary.result).toBe("succeeded");
    expect(created.outputs.partitions?.value).toBe(3);
    expect(await partitionsSeenByBroker()).toBe(3);

    stack.workspace.program = topicProgram(6);
    const grown = await stack.up();
    expect(grown.summary.resourceChanges?.update).toBe(1);
    expect(await partitionsSeenByBroker()).toBe(6);

    const again = await stack.preview();
    expect(again.changeSummary.update ?? 0).toBe(0);

    await stack.destroy();
    const topics = await admin.listTopics();
    expect(topics).not.toContain("plinth-smoke");
  });
});
