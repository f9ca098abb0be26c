import type { PluginContext, PluginLogger } from "@plinth/core";
import { KafkaSettings, type KafkaSettingsInput, TopicSpec, type TopicSpecInput } from "../../src/index.ts";

/** Two clusters: "main" (3 brokers, naming convention, allowed configs) and "small" (1 broker, built-in limits). */
export const settingsInput: KafkaSettingsInput = {
  clusters: {
    main: {
      bootstrapServers: ["kafka-1:9092", "kafka-2:9092", "kafka-3:9092"],
      brokers: 3,
      guardrails: {
        maxPartitions: 96,
        minRetentionMs: 3_600_000,
        maxRetentionMs: 14 * 86_400_000,
        allowedConfigs: ["cleanup.policy", "compression.type", "retention.bytes"],
        namingPattern: "[a-z0-9-]+\\.[a-z0-9-]+\\.v[0-9]+",
      },
      defaults: { retentionMs: 3 * 86_400_000 },
    },
    small: { bootstrapServers: ["127.0.0.1:9092"], brokers: 1 },
  },
};
export const settings: KafkaSettings = KafkaSettings.parse(settingsInput);

const silent: PluginLogger = { debug() {}, info() {}, warn() {}, error() {} };
export const ctx: PluginContext<KafkaSettings> = { settings, logger: silent };

/** A valid spec on "main", parsed; `overrides` replace top-level fields. */
export function topicSpec(overrides: Partial<TopicSpecInput> = {}): TopicSpec {
  return TopicSpec.parse({
    cluster: "main",
    owner: { team: "payments", contact: "#payments-oncall" },
    throughput: { peakMessagesPerSecond: 2_000, averageMessageBytes: 1_024, maxMessageBytes: 65_536 },
    ...overrides,
  });
}
