import { describe, expect, it } from "vitest";
import { type TopicSpec, type TopicSpecInput, isGuardrailReason, kafkaTopic, validateTopic } from "../src/index.ts";
import { ctx, settings, topicSpec } from "./support/fixtures.ts";

/** A resolved spec, as validate receives it. */
const resolved = (overrides: Partial<TopicSpecInput> = {}): TopicSpec =>
  kafkaTopic.defaults!("orders.placed.v1", topicSpec(overrides), ctx).spec;
const name = "orders.placed.v1";
const current = resolved({ partitions: 12 });

interface Case {
  why: string;
  name?: string;
  next: TopicSpec;
  previous?: TopicSpec;
  /** Expected [field, reason] pairs; empty = valid. */
  violations: [string, string][];
}

const cases: Case[] = [
  { why: "a defaulted create is valid", next: resolved(), violations: [] },
  { why: "an unchanged re-apply is valid", next: current, previous: current, violations: [] },
  { why: "partitions may grow", next: resolved({ partitions: 24 }), previous: current, violations: [] },
  {
    why: "partitions may not shrink (the provider would recreate the topic)",
    next: resolved({ partitions: 6 }),
    previous: current,
    violations: [["partitions", "PARTITIONS_DECREASE"]],
  },
  {
    why: "an empty name is illegal in Kafka",
    name: "",
    next: resolved(),
    violations: [["name", "INVALID_TOPIC_NAME"]],
  },
  {
    why: "250 characters is one too many",
    name: "a".repeat(250),
    next: resolved({ cluster: "small" }),
    violations: [["name", "INVALID_TOPIC_NAME"]],
  },
  {
    why: "249 characters is Kafka's maximum",
    name: "a".repeat(249),
    next: resolved({ cluster: "small" }),
    violations: [],
  },
  {
    why: "'.' alone is illegal",
    name: ".",
    next: resolved({ cluster: "small" }),
    violations: [["name", "INVALID_TOPIC_NAME"]],
  },
  {
    why: "'..' is illegal",
    name: "..",
    next: resolved({ cluster: "small" }),
    violations: [["name", "INVALID_TOPIC_NAME"]],
  },
  {
    why: "spaces are illegal",
    name: "orders placed",
    next: resolved({ cluster: "small" }),
    violations: [["name", "INVALID_TOPIC_NAME"]],
  },
  {
    why: "non-ASCII letters are illegal",
    name: "commandés",
    next: resolved({ cluster: "small" }),
    violations: [["name", "INVALID_TOPIC_NAME"]],
  },
  {
    why: "'__' is reserved for internal topics",
    name: "__orders",
    next: resolved({ cluster: "small" }),
    violations: [["name", "RESERVED_TOPIC_NAME"]],
  },
  {
    why: "new names follow the cluster's naming convention",
    name: "OrdersPlaced",
    next: resolved(),
    violations: [["name", "GUARDRAIL_NAMING"]],
  },
  {
    why: "an existing topic stays updatable when the convention changed later",
    name: "OrdersPlaced",
    next: resolved({ partitions: 24 }),
    previous: current,
    violations: [],
  },
  {
    why: "a cluster without a convention takes any legal name",
    name: "OrdersPlaced",
    next: resolved({ cluster: "small" }),
    violations: [],
  },
  {
    why: "the cluster must be configured",
    next: topicSpec({ cluster: "nowhere" }),
    violations: [["cluster", "UNKNOWN_CLUSTER"]],
  },
  {
    why: "a topic cannot move clusters",
    next: resolved({ cluster: "small", partitions: 12 }),
    previous: current,
    violations: [["cluster", "CLUSTER_CHANGE"]],
  },
  {
    why: "partitions above the guardrail",
    next: resolved({ partitions: 97 }),
    violations: [["partitions", "GUARDRAIL_MAX_PARTITIONS"]],
  },
  {
    why: "a topic already above the guardrail (admin override) may stay there",
    next: resolved({ partitions: 200, description: "new words" }),
    previous: resolved({ partitions: 200 }),
    violations: [],
  },
  {
    why: "more replicas than brokers",
    next: resolved({ replicationFactor: 4 }),
    violations: [["replicationFactor", "REPLICATION_EXCEEDS_BROKERS"]],
  },
  {
    why: "min ISR above the replication factor",
    next: resolved({ replicationFactor: 2, config: { "min.insync.replicas": 3 } }),
    violations: [["config.min.insync.replicas", "MIN_ISR_EXCEEDS_REPLICATION"]],
  },
  {
    why: "retention below the cluster minimum",
    next: resolved({ config: { "retention.ms": 60_000 } }),
    violations: [["config.retention.ms", "GUARDRAIL_RETENTION"]],
  },
  {
    why: "retention above the cluster maximum",
    next: resolved({ config: { "retention.ms": 30 * 86_400_000 } }),
    violations: [["config.retention.ms", "GUARDRAIL_RETENTION"]],
  },
  {
    why: "keeping data forever is above any maximum",
    next: resolved({ config: { "retention.ms": -1 } }),
    violations: [["config.retention.ms", "GUARDRAIL_RETENTION"]],
  },
  {
    why: "retention does not apply to a compact-only topic",
    next: resolved({ config: { "retention.ms": -1, "cleanup.policy": "compact" } }),
    violations: [],
  },
  {
    why: "an allowed config may be set",
    next: resolved({ config: { "compression.type": "zstd" } }),
    violations: [],
  },
  {
    why: "configs outside the cluster's allowed list",
    next: resolved({ config: { "segment.ms": 3_600_000 } }),
    violations: [["config.segment.ms", "GUARDRAIL_CONFIG_NOT_ALLOWED"]],
  },
  {
    why: "an unchanged config outside the list (adopted topic) does not block updates",
    next: resolved({ partitions: 24, config: { "segment.ms": 3_600_000 } }),
    previous: resolved({ partitions: 12, config: { "segment.ms": 3_600_000 } }),
    violations: [],
  },
  {
    why: "segments shorter than an hour multiply a shared broker's open files (issue 13: segment.ms 1 was auto-approved)",
    next: resolved({ cluster: "small", config: { "segment.ms": 1 } }),
    violations: [["config.segment.ms", "GUARDRAIL_MIN_SEGMENT"]],
  },
  {
    why: "segments smaller than 1 MiB, likewise",
    next: resolved({ cluster: "small", config: { "segment.bytes": 1024 } }),
    violations: [["config.segment.bytes", "GUARDRAIL_MIN_SEGMENT"]],
  },
  {
    why: "segments within the bounds are fine",
    next: resolved({ cluster: "small", config: { "segment.ms": 3_600_000, "segment.bytes": 1_048_576 } }),
    violations: [],
  },
  {
    why: "a dirty ratio near 0 recompacts without end",
    next: resolved({ cluster: "small", config: { "min.cleanable.dirty.ratio": 0.01 } }),
    violations: [["config.min.cleanable.dirty.ratio", "GUARDRAIL_CLEANABLE_RATIO"]],
  },
  {
    why: "a dirty ratio near 1 lets a compacted topic grow unbounded",
    next: resolved({ cluster: "small", config: { "min.cleanable.dirty.ratio": 0.99 } }),
    violations: [["config.min.cleanable.dirty.ratio", "GUARDRAIL_CLEANABLE_RATIO"]],
  },
  {
    why: "messages above the cluster's limit",
    next: resolved({ throughput: { peakMessagesPerSecond: 1, averageMessageBytes: 100, maxMessageBytes: 10_000_000 } }),
    violations: [["config.max.message.bytes", "GUARDRAIL_MAX_MESSAGE_BYTES"]],
  },
  {
    why: "an average message larger than the largest",
    next: resolved({ throughput: { peakMessagesPerSecond: 1, averageMessageBytes: 2_000, maxMessageBytes: 1_000 } }),
    violations: [["throughput.averageMessageBytes", "THROUGHPUT_INCONSISTENT"]],
  },
  {
    why: "a message limit below the declared largest message",
    next: resolved({ config: { "max.message.bytes": 1_000 } }),
    violations: [["config.max.message.bytes", "MESSAGE_LIMIT_BELOW_DECLARED"]],
  },
];

describe("kafka.topic validate", () => {
  it.each(cases)("$why", ({ name: topic = name, next, previous, violations }) => {
    const found = kafkaTopic.validate!(topic, next, previous, ctx);
    expect(found.map((violation) => [violation.field, violation.reason])).toEqual(violations);
    for (const violation of found) expect(violation.description.length).toBeGreaterThan(10);
  });

  it("lists the allowed clusters", () => {
    const [violation] = kafkaTopic.validate!(name, topicSpec({ cluster: "nowhere" }), undefined, ctx);
    expect(violation?.description).toContain("main, small");
  });

  it("spells out the safe path for a decrease", () => {
    const [violation] = kafkaTopic.validate!(name, resolved({ partitions: 6 }), current, ctx);
    expect(violation?.description).toContain("create a new topic");
  });

  it.each([
    {
      why: "deleting a protected topic is refused",
      previous: resolved({ protect: true }),
      violations: [["protect", "PROTECTED"]],
    },
    { why: "deleting an unprotected topic is fine", previous: resolved(), violations: [] },
  ])("$why (once core validates deletes)", ({ previous, violations }) => {
    const found = validateTopic(name, undefined, previous, settings);
    expect(found.map((violation) => [violation.field, violation.reason])).toEqual(violations);
  });

  it("marks exactly the guardrail reasons as overridable", () => {
    expect(isGuardrailReason("GUARDRAIL_RETENTION")).toBe(true);
    expect(isGuardrailReason("PARTITIONS_DECREASE")).toBe(false);
    expect(isGuardrailReason(undefined)).toBe(false);
  });
});
