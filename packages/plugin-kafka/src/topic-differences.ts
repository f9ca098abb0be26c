import type { InventoryItem } from "@plinth/core";
import { topicConfigStrings } from "./topic-config-strings.ts";
import type { TopicSpec } from "./topic-spec.ts";

/** What `inventory` records of a topic (see kafka-topic.ts); `config` only when the topic has any set. */
interface ObservedTopic {
  partitions: number;
  replicationFactor: number;
  config?: Record<string, string>;
}

/**
 * How a topic the cluster listing found (undefined: none under its identity)
 * differs from its recorded resolved spec: partitions, replication factor,
 * and the configs set on the topic, which must be exactly the spec's (a
 * config added by hand is drift too, as Pulumi's refresh sees it). Pure.
 */
export function topicDifferences(item: InventoryItem | undefined, name: string, spec: TopicSpec): string[] {
  if (!item) return [`topic "${name}" not found on cluster "${spec.cluster}"`];
  if (item.name !== name) return [`topic "${name}" not found; "${item.name}" holds its name on the cluster`];
  const observed = item.observed as unknown as ObservedTopic;
  const differences: string[] = [];
  if (spec.partitions !== undefined && observed.partitions !== spec.partitions) {
    differences.push(`partitions: ${observed.partitions} on the cluster, ${spec.partitions} recorded`);
  }
  if (spec.replicationFactor !== undefined && observed.replicationFactor !== spec.replicationFactor) {
    differences.push(
      `replicationFactor: ${observed.replicationFactor} on the cluster, ${spec.replicationFactor} recorded`,
    );
  }
  const expected = topicConfigStrings(spec.config);
  const actual = observed.config ?? {};
  for (const key of [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort()) {
    if (actual[key] !== expected[key]) {
      differences.push(`config.${key}: ${actual[key] ?? "unset"} on the cluster, ${expected[key] ?? "unset"} recorded`);
    }
  }
  return differences;
}
