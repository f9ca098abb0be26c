import { z } from "zod";
import { ClusterName, Owner } from "./owner.ts";

const count = z.int().min(1);

/**
 * The topic configs a spec may set, keyed by their Kafka names, with Kafka's
 * own value rules. Unknown keys are rejected: a typo must not be silently
 * ignored, and a config Plinth does not know cannot be guarded.
 */
export const TopicConfig = z.strictObject({
  "cleanup.policy": z.enum(["delete", "compact", "delete,compact"]).optional(),
  "compression.type": z.enum(["producer", "uncompressed", "zstd", "lz4", "snappy", "gzip"]).optional(),
  "delete.retention.ms": z.int().min(0).optional(),
  "max.compaction.lag.ms": count.optional(),
  "max.message.bytes": count.optional(),
  "message.timestamp.type": z.enum(["CreateTime", "LogAppendTime"]).optional(),
  "min.cleanable.dirty.ratio": z.number().min(0).max(1).optional(),
  "min.compaction.lag.ms": z.int().min(0).optional(),
  "min.insync.replicas": count.optional(),
  /** -1 = no size limit. */
  "retention.bytes": z.int().min(-1).optional(),
  /** -1 = keep forever. */
  "retention.ms": z.int().min(-1).optional(),
  "segment.bytes": z.int().min(14).optional(),
  "segment.ms": count.optional(),
  "unclean.leader.election.enable": z.boolean().optional(),
});
export type TopicConfig = z.output<typeof TopicConfig>;
export type TopicConfigKey = keyof TopicConfig;

/** Every config key the spec knows, in a stable order. */
export const topicConfigKeys = Object.keys(TopicConfig.shape) as TopicConfigKey[];

/** What the team expects to send: the input of the partition formula and of `max.message.bytes`. */
export const Throughput = z.strictObject({
  peakMessagesPerSecond: z.number().min(0),
  averageMessageBytes: count,
  maxMessageBytes: count,
});
export type Throughput = z.output<typeof Throughput>;

/**
 * A `kafka.topic` spec. The topic name is the resource name, passed beside
 * the spec (and checked by `validate`, field "name"). Only `cluster` and
 * `owner` are required; `partitions`, `replicationFactor` and the managed
 * configs are filled by the smart defaults when absent.
 */
export const TopicSpec = z.strictObject({
  /** A cluster named in the plugin settings. Cannot change once the topic exists. */
  cluster: ClusterName,
  /** Can only grow. */
  partitions: count.optional(),
  replicationFactor: count.optional(),
  config: TopicConfig.optional(),
  owner: Owner,
  throughput: Throughput.optional(),
  description: z.string().max(1024).optional(),
  /** Deletion protection: a protected topic cannot be deleted until a reviewed change removes the flag. */
  protect: z.boolean().default(false),
  /** Take over a topic that already exists in the cluster instead of creating it. */
  adopt: z.boolean().default(false),
});
/** A spec as stored and resolved (defaults of the schema applied). */
export type TopicSpec = z.output<typeof TopicSpec>;
/** A spec as a client writes it. */
export type TopicSpecInput = z.input<typeof TopicSpec>;
