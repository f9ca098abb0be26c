import type { Defaulted } from "@plinth/core";
import { type ClusterSettings, type KafkaSettings, kafkaDefaultMaxMessageBytes } from "./cluster-settings.ts";
import { formatBytes, formatDuration } from "./format.ts";
import { suggestPartitions } from "./partition-formula.ts";
import type { Throughput, TopicConfig, TopicSpec } from "./topic-spec.ts";

/** Replication factor assumed when the cluster settings do not say how many brokers there are. */
export const assumedBrokers = 3;
/** Room for the record batch header and record headers above the largest declared message. */
export const messageOverheadBytes = 1024;

interface Suggestion<T> {
  value: T;
  why: string;
}

function replicationFactor(cluster: ClusterSettings): Suggestion<number> {
  const brokers = cluster.brokers ?? assumedBrokers;
  const known = cluster.brokers === undefined ? `assumed ${assumedBrokers} brokers` : `${brokers} broker(s)`;
  return {
    value: Math.min(3, brokers),
    why: `min(3, brokers) with ${known}: three copies where there are brokers for them`,
  };
}

function minInsyncReplicas(rf: number): Suggestion<number> {
  const value = Math.min(2, Math.max(1, rf - 1));
  const effect =
    rf >= 3
      ? "an acknowledged (acks=all) write is on two brokers, and writes continue with one broker down"
      : rf === 2
        ? "writes continue with one broker down"
        : "a single copy: there is no other replica to wait for";
  return { value, why: `min(2, replicationFactor - 1), at least 1, with replication factor ${rf}: ${effect}` };
}

function maxMessageBytes(throughput: Throughput): Suggestion<number> {
  const needed = throughput.maxMessageBytes + messageOverheadBytes;
  return needed <= kafkaDefaultMaxMessageBytes
    ? {
        value: kafkaDefaultMaxMessageBytes,
        why: `Kafka's default (${formatBytes(kafkaDefaultMaxMessageBytes)}): it fits the declared largest message of ${formatBytes(throughput.maxMessageBytes)}`,
      }
    : {
        value: needed,
        why: `the declared largest message (${throughput.maxMessageBytes} B) plus ${messageOverheadBytes} B of batch overhead`,
      };
}

/** "<value>: <why>" when the value is the default, else says it was set in the spec and what the default is. */
function explain<T>(actual: T, suggestion: Suggestion<T>, show: (value: T) => string = String): string {
  return actual === suggestion.value
    ? `${show(actual)}: ${suggestion.why}`
    : `${show(actual)}: set in the spec (the default would be ${show(suggestion.value)}: ${suggestion.why})`;
}

/**
 * Fills `partitions`, `replicationFactor`, `config["retention.ms"]`,
 * `config["min.insync.replicas"]` and (with a declared throughput)
 * `config["max.message.bytes"]` where the spec leaves them out; for an
 * adopted topic (`adopt: true`) only the counts, never a config.
 *
 * Pure and idempotent. Explicit values always win, and the explanations are
 * a function of the resolved values alone, so a value filled here and the
 * same value written by hand are indistinguishable: defaults(defaults(x))
 * returns the same spec AND the same explanations. An unknown cluster is
 * left for `validate` to report.
 */
export function resolveTopicDefaults(spec: TopicSpec, settings: KafkaSettings): Defaulted<TopicSpec> {
  const cluster = settings.clusters[spec.cluster];
  if (!cluster) return { spec, explanations: {} };
  const explanations: Record<string, string> = {};

  const partitionSuggestion = suggestPartitions(spec.throughput, cluster);
  const partitions = spec.partitions ?? partitionSuggestion.partitions;
  explanations.partitions =
    partitions === partitionSuggestion.partitions
      ? partitionSuggestion.explanation
      : `${partitions}: set in the spec (the throughput formula gives ${partitionSuggestion.explanation})`;

  const rfSuggestion = replicationFactor(cluster);
  const rf = spec.replicationFactor ?? rfSuggestion.value;
  explanations.replicationFactor = explain(rf, rfSuggestion);

  const config: TopicConfig = { ...spec.config };
  // An adopted topic keeps the configs it has: a default here would change a topic that already holds data
  // (a retention shorter than the one it has deletes data, and a create is reviewed as no retention cut).
  if (spec.adopt) {
    explanations.config = "adopted: the topic keeps the configs it has on the cluster; none are filled by default";
    return { spec: canonical({ ...spec, partitions, replicationFactor: rf, config }), explanations };
  }
  const retention = { value: cluster.defaults.retentionMs, why: `the default retention of cluster "${spec.cluster}"` };
  config["retention.ms"] ??= retention.value;
  explanations["config.retention.ms"] = explain(config["retention.ms"], retention, formatDuration);

  const isr = minInsyncReplicas(rf);
  config["min.insync.replicas"] ??= isr.value;
  explanations["config.min.insync.replicas"] = explain(config["min.insync.replicas"], isr);

  if (spec.throughput) {
    const size = maxMessageBytes(spec.throughput);
    config["max.message.bytes"] ??= size.value;
    explanations["config.max.message.bytes"] = explain(config["max.message.bytes"], size);
  }

  return { spec: canonical({ ...spec, partitions, replicationFactor: rf, config }), explanations };
}

/** Fixed key order (config keys sorted), no undefined values: equal specs serialize equally. */
function canonical(spec: TopicSpec): TopicSpec {
  const config = Object.fromEntries(
    Object.entries(spec.config ?? {})
      .filter(([, value]) => value !== undefined)
      .sort(([a], [b]) => a.localeCompare(b)),
  ) as TopicConfig;
  const ordered: TopicSpec = {
    cluster: spec.cluster,
    partitions: spec.partitions,
    replicationFactor: spec.replicationFactor,
    config,
    owner: { team: spec.owner.team, contact: spec.owner.contact },
    throughput: spec.throughput,
    description: spec.description,
    protect: spec.protect,
    adopt: spec.adopt,
  };
  return JSON.parse(JSON.stringify(ordered)) as TopicSpec;
}
