import type { ImportOwner, ImportedSpec, InventoryItem, JsonObject } from "@plinth/core";
import { type TopicConfigKey, topicConfigKeys } from "./topic-spec.ts";

/** Configs Kafka reports as words; every other config the spec knows is a number, except this flag. */
const wordConfigs: ReadonlySet<string> = new Set(["cleanup.policy", "compression.type", "message.timestamp.type"]);
const flagConfigs: ReadonlySet<string> = new Set(["unclean.leader.election.enable"]);

/** A config value as Kafka reports it (a string), typed as the spec holds it. */
function typedConfigValue(key: string, value: string): string | number | boolean {
  if (wordConfigs.has(key)) return value;
  if (flagConfigs.has(key)) return value === "true";
  return Number(value);
}

/**
 * The `kafka.topic` spec that describes a listed topic exactly as it is, for
 * `plinth import`: its partitions, replication factor and the configs set on
 * it (no defaults filled: with `adopt: true` the defaults leave an adopted
 * topic's configs as they are), and `adopt: true`, so its first change imports
 * the topic into its Pulumi stack instead of creating it. Kafka's internal
 * ("__") topics and topics with configs Plinth does not manage are refused.
 * Values that do not parse are left for the spec's schema to refuse. Pure.
 */
export function importTopicSpec(item: InventoryItem, cluster: string, owner: ImportOwner): ImportedSpec {
  if (item.name.startsWith("__")) return { refusal: "Kafka's internal topics are never imported" };
  const observed = item.observed as {
    partitions?: number;
    replicationFactor?: number;
    config?: Record<string, string>;
  };
  const known = new Set<string>(topicConfigKeys);
  const unknown = Object.keys(observed.config ?? {}).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    return {
      refusal: `sets config(s) Plinth does not manage: ${unknown.sort().join(", ")} (it manages ${topicConfigKeys.join(", ")})`,
    };
  }
  const config = Object.fromEntries(
    Object.entries(observed.config ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, value]) => [key as TopicConfigKey, typedConfigValue(key, value)]),
  );
  const spec: JsonObject = {
    cluster,
    partitions: observed.partitions ?? 0,
    replicationFactor: observed.replicationFactor ?? 0,
    config,
    owner: { team: owner.team, contact: owner.contact },
    adopt: true,
  };
  return { spec };
}
