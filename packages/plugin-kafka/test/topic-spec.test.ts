import { describe, expect, it } from "vitest";
import { z } from "zod";
import { KafkaSettings, TopicSpec } from "../src/index.ts";

const owner = { team: "payments", contact: "#payments-oncall" };
const minimal = { cluster: "main", owner };

describe("TopicSpec", () => {
  it.each([
    { why: "cluster and owner are all a request needs", spec: minimal },
    {
      why: "every documented field",
      spec: {
        ...minimal,
        partitions: 12,
        replicationFactor: 3,
        config: {
          "cleanup.policy": "delete,compact",
          "compression.type": "zstd",
          "min.insync.replicas": 2,
          "retention.ms": -1,
          "retention.bytes": 1_073_741_824,
          "min.cleanable.dirty.ratio": 0.5,
          "unclean.leader.election.enable": false,
        },
        throughput: { peakMessagesPerSecond: 1.5, averageMessageBytes: 200, maxMessageBytes: 4096 },
        description: "orders placed",
        protect: true,
        adopt: true,
      },
    },
  ])("accepts $why", ({ spec }) => {
    expect(TopicSpec.safeParse(spec).success).toBe(true);
  });

  it("fills protect and adopt with false", () => {
    expect(TopicSpec.parse(minimal)).toMatchObject({ protect: false, adopt: false });
  });

  it.each([
    { why: "cluster is required", spec: { owner }, path: ["cluster"] },
    { why: "owner is required", spec: { cluster: "main" }, path: ["owner"] },
    { why: "an owner needs a contact", spec: { cluster: "main", owner: { team: "t" } }, path: ["owner", "contact"] },
    { why: "unknown top-level keys are refused", spec: { ...minimal, partition: 3 }, path: [] },
    { why: "partitions are positive", spec: { ...minimal, partitions: 0 }, path: ["partitions"] },
    { why: "partitions are whole", spec: { ...minimal, partitions: 2.5 }, path: ["partitions"] },
    { why: "replication factor is positive", spec: { ...minimal, replicationFactor: 0 }, path: ["replicationFactor"] },
    { why: "unknown configs are refused", spec: { ...minimal, config: { "retention.hours": 1 } }, path: ["config"] },
    {
      why: "cleanup.policy is delete, compact or both",
      spec: { ...minimal, config: { "cleanup.policy": "archive" } },
      path: ["config", "cleanup.policy"],
    },
    {
      why: "retention.ms is -1 or more",
      spec: { ...minimal, config: { "retention.ms": -2 } },
      path: ["config", "retention.ms"],
    },
    {
      why: "config values are typed, not strings",
      spec: { ...minimal, config: { "min.insync.replicas": "2" } },
      path: ["config", "min.insync.replicas"],
    },
    {
      why: "compression.type is one of Kafka's codecs",
      spec: { ...minimal, config: { "compression.type": "brotli" } },
      path: ["config", "compression.type"],
    },
    {
      why: "a dirty ratio is between 0 and 1",
      spec: { ...minimal, config: { "min.cleanable.dirty.ratio": 1.5 } },
      path: ["config", "min.cleanable.dirty.ratio"],
    },
    {
      why: "throughput needs all three numbers",
      spec: { ...minimal, throughput: { peakMessagesPerSecond: 10, averageMessageBytes: 100 } },
      path: ["throughput", "maxMessageBytes"],
    },
    {
      why: "peak throughput cannot be negative",
      spec: { ...minimal, throughput: { peakMessagesPerSecond: -1, averageMessageBytes: 1, maxMessageBytes: 1 } },
      path: ["throughput", "peakMessagesPerSecond"],
    },
    { why: "protect is a boolean", spec: { ...minimal, protect: "yes" }, path: ["protect"] },
  ])("rejects a spec where $why", ({ spec, path }) => {
    const result = TopicSpec.safeParse(spec);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toContainEqual(path);
  });

  it("names the unknown key", () => {
    const result = TopicSpec.safeParse({ ...minimal, config: { "retention.hours": 1 } });
    expect(result.error?.issues[0]).toMatchObject({ code: "unrecognized_keys", keys: ["retention.hours"] });
  });

  it("is publishable as JSON Schema", () => {
    const schema = z.toJSONSchema(TopicSpec, { io: "input" }) as {
      required?: string[];
      additionalProperties?: boolean;
    };
    expect(schema.required).toEqual(["cluster", "owner"]);
    expect(schema.additionalProperties).toBe(false);
  });
});

describe("KafkaSettings", () => {
  it("fills guardrails and defaults from a bare cluster", () => {
    const settings = KafkaSettings.parse({ clusters: { local: { bootstrapServers: ["127.0.0.1:9092"] } } });
    expect(settings.clusters.local?.guardrails.maxPartitions).toBeGreaterThan(0);
    expect(settings.clusters.local?.defaults.retentionMs).toBeGreaterThan(0);
  });

  it.each([
    {
      why: "a cluster needs bootstrap servers",
      clusters: { a: { bootstrapServers: [] } },
      path: ["clusters", "a", "bootstrapServers"],
    },
    {
      why: "a naming pattern must compile",
      clusters: { a: { bootstrapServers: ["b:9092"], guardrails: { namingPattern: "(" } } },
      path: ["clusters", "a", "guardrails", "namingPattern"],
    },
    {
      why: "SASL mechanisms are the ones the provider and the client share",
      clusters: { a: { bootstrapServers: ["b:9092"], sasl: { mechanism: "GSSAPI", username: "u", password: "p" } } },
      path: ["clusters", "a", "sasl", "mechanism"],
    },
    {
      why: "SASL has a password and a passwordEnv",
      clusters: {
        a: {
          bootstrapServers: ["b:9092"],
          sasl: { mechanism: "SCRAM-SHA-512", username: "u", password: "p", passwordEnv: "PLINTH_TEST_SASL" },
        },
      },
      path: ["clusters", "a", "sasl", "password"],
    },
    {
      why: "SASL has neither password nor passwordEnv",
      clusters: { a: { bootstrapServers: ["b:9092"], sasl: { mechanism: "SCRAM-SHA-512", username: "u" } } },
      path: ["clusters", "a", "sasl", "password"],
    },
    {
      why: "SASL's passwordEnv names a variable the service does not have",
      clusters: {
        a: {
          bootstrapServers: ["b:9092"],
          sasl: { mechanism: "SCRAM-SHA-512", username: "u", passwordEnv: "PLINTH_TEST_SASL_UNSET" },
        },
      },
      path: ["clusters", "a", "sasl", "passwordEnv"],
    },
  ])("rejects settings where $why", ({ clusters, path }) => {
    const result = KafkaSettings.safeParse({ clusters });
    expect(result.error?.issues.map((issue) => issue.path)).toContainEqual(path);
  });

  it("reads SASL's passwordEnv at parse time, so what the program gets holds the password itself", () => {
    process.env.PLINTH_TEST_SASL = "from-the-environment";
    try {
      const settings = KafkaSettings.parse({
        clusters: {
          a: {
            bootstrapServers: ["b:9092"],
            sasl: { mechanism: "SCRAM-SHA-512", username: "u", passwordEnv: "PLINTH_TEST_SASL" },
          },
        },
      });
      expect(settings.clusters.a?.sasl).toEqual({
        mechanism: "SCRAM-SHA-512",
        username: "u",
        password: "from-the-environment",
      });
      // The engine hands the parsed settings to the Pulumi program as JSON: they parse again to the same.
      expect(KafkaSettings.parse(JSON.parse(JSON.stringify(settings)))).toEqual(settings);
    } finally {
      delete process.env.PLINTH_TEST_SASL;
    }
  });
});
