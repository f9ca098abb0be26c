import { describe, expect, it } from "vitest";
import { KafkaSettings, kafkaDefaultMaxMessageBytes, kafkaTopic, suggestPartitions } from "../src/index.ts";
import { ctx, settings, topicSpec } from "./support/fixtures.ts";

const main = settings.clusters.main!;
const defaults = kafkaTopic.defaults!;
const throughput = (peakMessagesPerSecond: number, averageMessageBytes: number) => ({
  peakMessagesPerSecond,
  averageMessageBytes,
  maxMessageBytes: averageMessageBytes * 4,
});

describe("suggestPartitions (built-in constants: 1 MiB/s and 1000 msg/s per partition, 2× headroom, min 3, step 6)", () => {
  it.each([
    { why: "no throughput: the cluster minimum", throughput: undefined, partitions: 3 },
    { why: "a quiet topic stays at the minimum", throughput: throughput(10, 200), partitions: 3 },
    { why: "zero traffic is still the minimum", throughput: throughput(0, 200), partitions: 3 },
    { why: "exactly 3 needed: the minimum, no rounding", throughput: throughput(1_500, 100), partitions: 3 },
    { why: "4 needed rounds up to one step", throughput: throughput(2_000, 100), partitions: 6 },
    { why: "10 MiB/s at 10k msg/s needs 21 → 24", throughput: throughput(10_240, 1_024), partitions: 24 },
    { why: "messages dominate: 20k msg/s of 10 B needs 40 → 42", throughput: throughput(20_000, 10), partitions: 42 },
    { why: "huge topics are capped at the guardrail", throughput: throughput(100_000, 10_240), partitions: 96 },
  ])("$why", ({ throughput, partitions }) => {
    const suggestion = suggestPartitions(throughput, main);
    expect(suggestion.partitions).toBe(partitions);
    expect(suggestion.explanation).toMatch(new RegExp(`^${partitions}:`));
  });

  it("uses the cluster's own constants", () => {
    const tuned = KafkaSettings.parse({
      clusters: {
        t: {
          bootstrapServers: ["b:9092"],
          defaults: {
            partitionTargetBytesPerSecond: 10 * 1024 * 1024,
            headroom: 1,
            minPartitions: 1,
            partitionStep: 4,
          },
        },
      },
    }).clusters.t!;
    // 10 MiB/s at 10 MiB/s per partition → 1 by bytes; 10240 msg/s at 1000/s → 11 → step 4 → 12.
    expect(suggestPartitions(throughput(10_240, 1_024), tuned).partitions).toBe(12);
  });
});

describe("kafka.topic defaults", () => {
  it.each([
    {
      why: "a 3-broker cluster gets rf 3 and min ISR 2",
      spec: topicSpec(),
      expected: {
        partitions: 6,
        replicationFactor: 3,
        config: { "min.insync.replicas": 2, "retention.ms": 3 * 86_400_000 },
      },
    },
    {
      why: "a 1-broker cluster gets rf 1 and min ISR 1",
      spec: topicSpec({ cluster: "small" }),
      expected: { replicationFactor: 1, config: { "min.insync.replicas": 1, "retention.ms": 7 * 86_400_000 } },
    },
    {
      why: "an explicit rf 2 gets min ISR 1",
      spec: topicSpec({ replicationFactor: 2 }),
      expected: { replicationFactor: 2, config: { "min.insync.replicas": 1 } },
    },
    {
      why: "messages up to ~1 MiB keep Kafka's default max.message.bytes",
      spec: topicSpec(),
      expected: { config: { "max.message.bytes": kafkaDefaultMaxMessageBytes } },
    },
    {
      why: "larger messages raise max.message.bytes to the largest plus overhead",
      spec: topicSpec({
        throughput: { peakMessagesPerSecond: 10, averageMessageBytes: 1_000, maxMessageBytes: 2_000_000 },
      }),
      expected: { config: { "max.message.bytes": 2_001_024 } },
    },
    {
      why: "explicit values win over every default",
      spec: topicSpec({
        partitions: 7,
        replicationFactor: 1,
        config: { "retention.ms": 7_200_000, "min.insync.replicas": 1, "max.message.bytes": 100_000 },
      }),
      expected: {
        partitions: 7,
        replicationFactor: 1,
        config: { "retention.ms": 7_200_000, "min.insync.replicas": 1, "max.message.bytes": 100_000 },
      },
    },
  ])("$why", ({ spec, expected }) => {
    expect(defaults("orders.placed.v1", spec, ctx).spec).toMatchObject(expected);
  });

  it("leaves max.message.bytes alone without a declared throughput", () => {
    const { spec } = defaults("orders.placed.v1", topicSpec({ throughput: undefined }), ctx);
    expect(spec.config).not.toHaveProperty("max.message.bytes");
  });

  it("explains every filled field by its spec path", () => {
    const { explanations } = defaults("orders.placed.v1", topicSpec(), ctx);
    expect(Object.keys(explanations ?? {}).sort()).toEqual([
      "config.max.message.bytes",
      "config.min.insync.replicas",
      "config.retention.ms",
      "partitions",
      "replicationFactor",
    ]);
  });

  it("leaves a spec on an unknown cluster for validate to report", () => {
    const spec = topicSpec({ cluster: "nowhere" });
    expect(defaults("orders.placed.v1", spec, ctx).spec).toEqual(spec);
  });

  it.each([
    { why: "everything defaulted", spec: topicSpec() },
    { why: "no throughput", spec: topicSpec({ throughput: undefined }) },
    {
      why: "explicit values differing from the defaults",
      spec: topicSpec({ partitions: 5, config: { "retention.ms": 7_200_000 } }),
    },
    { why: "a 1-broker cluster", spec: topicSpec({ cluster: "small", description: "d", protect: true }) },
  ])("is idempotent, explanations included: $why", ({ spec }) => {
    const once = defaults("orders.placed.v1", spec, ctx);
    const twice = defaults("orders.placed.v1", once.spec, ctx);
    expect(twice).toEqual(once);
    expect(JSON.stringify(twice.spec)).toBe(JSON.stringify(once.spec));
  });

  it("does not mutate its input", () => {
    const spec = topicSpec();
    const copy = structuredClone(spec);
    defaults("orders.placed.v1", spec, ctx);
    expect(spec).toEqual(copy);
  });
});
