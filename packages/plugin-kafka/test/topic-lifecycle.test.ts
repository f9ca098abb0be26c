import { execFileSync } from "node:child_process";
import diagnostics from "node:diagnostics_channel";
import { join } from "node:path";
import { Admin } from "@platformatic/kafka";
import { type KafkaBroker, startKafka, waitFor } from "@plinth/testing";
import type { Stack } from "@pulumi/pulumi/automation/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaSettings, type TopicSpec, type TopicSpecInput, kafkaTopic, listClusterTopics } from "../src/index.ts";
import { createLocalStack } from "./support/local-stack.ts";

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** Steps other than "same" in a preview: an apply followed by a preview must leave none. */
function pendingSteps(summary: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(summary).filter(([op, count]) => op !== "same" && (count ?? 0) > 0),
  ) as Record<string, number>;
}

// The plugin's own program through the real chain: Automation API → pulumi CLI
// → pulumi-resource-kafka → broker, each step checked by the plugin's verify.
describe("kafka.topic program on a real broker", () => {
  let broker: KafkaBroker;
  let admin: Admin;
  let settings: KafkaSettings;
  beforeAll(async () => {
    broker = await startKafka();
    admin = new Admin({ clientId: "plugin-kafka-lifecycle", bootstrapBrokers: [broker.bootstrapServers] });
    settings = KafkaSettings.parse({
      clusters: { local: { bootstrapServers: [broker.bootstrapServers], brokers: 1 } },
    });
  });
  afterAll(async () => {
    await admin?.close();
    await broker?.stop();
  });

  const resolve = (name: string, input: Partial<TopicSpecInput>): TopicSpec => {
    const parsed = kafkaTopic.spec.parse({
      cluster: "local",
      owner: { team: "payments", contact: "#payments" },
      ...input,
    });
    return kafkaTopic.defaults!(name, parsed, { settings, logger: { debug() {}, info() {}, warn() {}, error() {} } })
      .spec;
  };
  const stackFor = (name: string, spec: TopicSpec) =>
    createLocalStack(name.replaceAll(".", "-"), async () => kafkaTopic.program({ name, spec, settings }));
  const use = (stack: Stack, name: string, spec: TopicSpec) => {
    stack.workspace.program = async () => kafkaTopic.program({ name, spec, settings });
  };
  const verify = (name: string, spec: TopicSpec) => kafkaTopic.verify!({ name, spec, outputs: {}, settings });

  it("creates with defaults, re-applies as a no-op, grows, changes a config and destroys", async () => {
    const name = "orders.lifecycle.v1";
    const created = resolve(name, {
      throughput: { peakMessagesPerSecond: 2_000, averageMessageBytes: 1_024, maxMessageBytes: 65_536 },
    });
    expect(created.partitions).toBe(6);
    const stack = await stackFor(name, created);

    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.partitions?.value).toBe(6);
    expect(up.outputs.topic?.value).toBe(name);
    expect(await verify(name, created)).toMatchObject({ ready: true });
    expect(await listClusterTopics(settings, "local")).toContainEqual({ name, partitions: 6, replicationFactor: 1 });

    const again = await stack.preview();
    expect(pendingSteps(again.changeSummary)).toEqual({});

    const grown = resolve(name, {
      ...created,
      partitions: 12,
      config: { ...created.config, "retention.ms": 3_600_000 },
    });
    use(stack, name, grown);
    const grow = await stack.up();
    expect(grow.summary.resourceChanges?.update).toBe(1);
    expect(await verify(name, grown)).toMatchObject({ ready: true });
    expect(pendingSteps((await stack.preview()).changeSummary)).toEqual({});

    await stack.destroy();
    expect(await admin.listTopics()).not.toContain(name);
  });

  it("refuses to destroy a protected topic until protection is removed", async () => {
    const name = "orders.protected.v1";
    const spec = resolve(name, { protect: true });
    const stack = await stackFor(name, spec);
    await stack.up();

    await expect(stack.destroy()).rejects.toThrow(/protect/);
    expect(await admin.listTopics()).toContain(name);

    use(stack, name, { ...spec, protect: false });
    await stack.up();
    await stack.destroy();
    expect(await admin.listTopics()).not.toContain(name);
  });

  const topicId = async (name: string) =>
    (await admin.metadata({ topics: [name], forceUpdate: true })).topics.get(name)?.id;

  it("reads the whole cluster in bounded batches: every topic and its configs, no request naming more than listing.batchSize", async () => {
    const names = Array.from({ length: 7 }, (_, i) => `listing.batched.t${i}`);
    const configured = names[4]!;
    await admin.createTopics({ topics: names.filter((name) => name !== configured), partitions: 2, replicas: 1 });
    await admin.createTopics({
      topics: [configured],
      partitions: 2,
      replicas: 1,
      configs: [{ name: "retention.ms", value: "3600000" }],
    });
    await waitFor(
      async () => {
        const listed = await admin.listTopics();
        if (!names.every((name) => listed.includes(name))) throw new Error("not all listed yet");
      },
      { what: "the new topics listed", timeoutMs: 60_000 },
    );
    const small = KafkaSettings.parse({
      clusters: {
        local: { bootstrapServers: [broker.bootstrapServers], brokers: 1, listing: { batchSize: 3, concurrency: 2 } },
      },
    });
    // What the client library asks the broker: topics per describeConfigs request.
    const described: number[] = [];
    const onDescribe = (message: unknown) => {
      const context = message as { operation?: string; options?: { resources?: unknown[] } };
      if (context.operation === "describeConfigs") described.push(context.options?.resources?.length ?? 0);
    };
    diagnostics.subscribe("tracing:plt:kafka:admin:configs:start", onDescribe);
    let items: Awaited<ReturnType<NonNullable<typeof kafkaTopic.inventory>>>;
    try {
      items = await kafkaTopic.inventory!("local", { settings: small, logger: silent });
    } finally {
      diagnostics.unsubscribe("tracing:plt:kafka:admin:configs:start", onDescribe);
    }
    const mine = items.filter((item) => item.name.startsWith("listing.batched."));
    expect(mine.map((item) => item.name)).toEqual(names);
    expect(mine.map((item) => item.observed)).toEqual(
      names.map((_, i) => ({
        partitions: 2,
        replicationFactor: 1,
        ...(i === 4 && { config: { "retention.ms": "3600000" } }),
      })),
    );
    expect(described.length).toBe(Math.ceil(items.length / 3));
    expect(Math.max(...described)).toBeLessThanOrEqual(3);
    await admin.deleteTopics({ topics: names });
  });

  it("a topic deleted while the cluster is read in batches is left out, not a failed listing", async () => {
    const names = Array.from({ length: 4 }, (_, i) => `listing.vanishing.t${i}`);
    const victim = names[2]!;
    await admin.createTopics({ topics: names, partitions: 1, replicas: 1 });
    await waitFor(
      async () => {
        const listed = await admin.listTopics();
        if (!names.every((name) => listed.includes(name))) throw new Error("not all listed yet");
      },
      { what: "the new topics listed", timeoutMs: 60_000 },
    );
    const oneByOne = KafkaSettings.parse({
      clusters: {
        local: { bootstrapServers: [broker.bootstrapServers], brokers: 1, listing: { batchSize: 1, concurrency: 1 } },
      },
    });
    // When the first of these topics is described, the victim is deleted by another process, and the listing
    // (held still meanwhile) goes on to the victim's batch with the victim gone.
    const deleteVictim = [
      'import { Admin } from "@platformatic/kafka";',
      "const [, brokers, topic] = process.argv;",
      'const admin = new Admin({ clientId: "out-of-band", bootstrapBrokers: [brokers] });',
      "await admin.deleteTopics({ topics: [topic] });",
      "while ((await admin.listTopics()).includes(topic)) await new Promise((r) => setTimeout(r, 100));",
      "await admin.close();",
    ].join("\n");
    let deleted = false;
    const onDescribe = (message: unknown) => {
      const context = message as { options?: { resources?: Array<{ resourceName: string }> } };
      if (deleted || context.options?.resources?.[0]?.resourceName !== names[0]) return;
      deleted = true;
      execFileSync(process.execPath, ["--input-type=module", "-e", deleteVictim, broker.bootstrapServers, victim], {
        cwd: join(import.meta.dirname, ".."),
        env: { ...process.env, NODE_PATH: "" },
        timeout: 120_000,
      });
    };
    diagnostics.subscribe("tracing:plt:kafka:admin:configs:start", onDescribe);
    try {
      const items = await kafkaTopic.inventory!("local", { settings: oneByOne, logger: silent });
      expect(deleted).toBe(true);
      expect(items.map((item) => item.name).filter((name) => name.startsWith("listing.vanishing."))).toEqual(
        names.filter((name) => name !== victim),
      );
    } finally {
      diagnostics.unsubscribe("tracing:plt:kafka:admin:configs:start", onDescribe);
    }
    await admin.deleteTopics({ topics: names.filter((name) => name !== victim) });
  });

  it("adopts an existing topic without recreating it, applying only what the spec changes", async () => {
    const name = "orders.adopted.v1";
    await admin.createTopics({
      topics: [name],
      partitions: 3,
      replicas: 1,
      configs: [{ name: "retention.ms", value: "86400000" }],
    });
    const before = await topicId(name);
    const spec = resolve(name, {
      partitions: 3,
      replicationFactor: 1,
      adopt: true,
      config: { "retention.ms": 7_200_000 },
    });
    const stack = await stackFor(name, spec);

    const up = await stack.up();
    expect(up.summary.resourceChanges).toMatchObject({ import: 1, update: 1 });
    expect(await topicId(name)).toBe(before);
    expect(await verify(name, spec)).toMatchObject({ ready: true });
    expect(pendingSteps((await stack.preview()).changeSummary)).toEqual({});

    await stack.destroy();
    expect(await admin.listTopics()).not.toContain(name);
  });

  it("refuses an adoption that would replace the topic (fewer partitions) and leaves it intact", async () => {
    const name = "orders.adopted-shrink.v1";
    await admin.createTopics({ topics: [name], partitions: 6, replicas: 1 });
    const before = await topicId(name);
    const stack = await stackFor(name, resolve(name, { partitions: 3, replicationFactor: 1, adopt: true }));

    await expect(stack.up()).rejects.toThrow(/may not be replaced/);
    expect(await topicId(name)).toBe(before);
    expect((await listClusterTopics(settings, "local")).find((topic) => topic.name === name)?.partitions).toBe(6);
  });

  it("does not take over an existing topic without adopt: the create fails and the topic is untouched", async () => {
    const name = "orders.unmanaged.v1";
    await admin.createTopics({ topics: [name], partitions: 2, replicas: 1 });
    const before = await topicId(name);
    const stack = await stackFor(name, resolve(name, { partitions: 2 }));

    await expect(stack.up()).rejects.toThrow(/already exists/);
    expect(await topicId(name)).toBe(before);
  });
});
