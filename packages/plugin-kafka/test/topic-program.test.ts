import * as pulumi from "@pulumi/pulumi";
import type { MockResourceArgs } from "@pulumi/pulumi/runtime/index.js";
import { beforeEach, describe, expect, it } from "vitest";
import { KafkaSettings, type TopicSpec, type TopicSpecInput, kafkaTopic } from "../src/index.ts";
import { ctx, settings, topicSpec } from "./support/fixtures.ts";

const resolved = (overrides: Partial<TopicSpecInput> = {}): TopicSpec =>
  kafkaTopic.defaults!("orders.placed.v1", topicSpec(overrides), ctx).spec;

/** Resolves a Pulumi output (or plain value) once the mocks have answered. */
function settled<T>(value: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(value).apply((inner) => resolve(inner as T)));
}

async function run(spec: TopicSpec, settingsUsed: KafkaSettings = settings) {
  const outputs = await kafkaTopic.program({ name: "orders.placed.v1", spec, settings: settingsUsed });
  const values = Object.fromEntries(
    await Promise.all(Object.entries(outputs).map(async ([key, value]) => [key, await settled(value)] as const)),
  );
  return values;
}

describe("kafka.topic program (Pulumi mocks)", () => {
  let registered: MockResourceArgs[];
  beforeEach(async () => {
    registered = [];
    // A fresh mock monitor per test: nothing registered by one test is seen by the next.
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push(args);
          return { id: args.id ?? `${args.name}-id`, state: args.inputs };
        },
        call: () => ({}),
      },
      "plinth",
      "kafka.topic--orders.placed.v1",
      false,
    );
  });
  const topic = () => registered.find((args) => args.type === "kafka:index/topic:Topic");
  const provider = () => registered.find((args) => args.type === "pulumi:providers:kafka");

  it("declares the topic with the resolved spec, every config value a string", async () => {
    const outputs = await run(
      resolved({ config: { "cleanup.policy": "delete", "unclean.leader.election.enable": false } }),
    );
    expect(topic()?.inputs).toEqual({
      name: "orders.placed.v1",
      partitions: 6,
      replicationFactor: 3,
      config: {
        "cleanup.policy": "delete",
        "max.message.bytes": "1048588",
        "min.insync.replicas": "2",
        "retention.ms": "259200000",
        "unclean.leader.election.enable": "false",
      },
    });
    expect(outputs).toEqual({
      topic: "orders.placed.v1",
      partitions: 6,
      replicationFactor: 3,
      cluster: "main",
      bootstrapServers: ["kafka-1:9092", "kafka-2:9092", "kafka-3:9092"],
    });
  });

  it("uses a provider for the topic's cluster, with TLS off unless configured", async () => {
    await run(resolved());
    expect(provider()?.name).toBe("main");
    expect(provider()?.inputs).toMatchObject({
      bootstrapServers: JSON.stringify(settings.clusters.main?.bootstrapServers),
      tlsEnabled: "false",
    });
    expect(topic()?.provider).toMatch(/::main::/);
  });

  it("passes TLS and SASL settings, the password as a secret", async () => {
    const secured = KafkaSettings.parse({
      clusters: {
        main: {
          bootstrapServers: ["kafka:9093"],
          tls: { enabled: true, caCert: "PEM" },
          sasl: { mechanism: "SCRAM-SHA-512", username: "plinth", password: "fixture-only-sasl-value" },
        },
      },
    });
    await run(resolved(), secured);
    expect(provider()?.inputs).toMatchObject({
      tlsEnabled: "true",
      caCert: "PEM",
      saslMechanism: "scram-sha512",
      saslUsername: "plinth",
      // Pulumi's wire form of a secret: encrypted in the stack's state.
      saslPassword: {
        [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
        value: "fixture-only-sasl-value",
      },
    });
  });

  it("imports an adopted topic by its name instead of creating it", async () => {
    await run(resolved({ adopt: true }));
    expect(topic()?.id).toBe("orders.placed.v1");
  });

  it("creates (no import ID) when not adopting", async () => {
    await run(resolved());
    expect(topic()?.id).toBeFalsy();
  });

  it("refuses an unresolved spec and an unknown cluster", async () => {
    await expect(run(topicSpec())).rejects.toThrow(/resolved spec/);
    await expect(run(resolved({ cluster: "nowhere" }))).rejects.toThrow(/unknown cluster/);
  });
});
