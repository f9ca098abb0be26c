// The spec of each shipped plugin as a client writes it, for services that
// call Plinth: plain types, no schema library, no plugin or server code.
// test/spec-types.test.ts proves each one equal to the plugin's own input type.

/** Who owns a topic or user: the owning team and where to reach it. */
export interface Owner {
  team: string;
  /** A channel, an email, a pager alias. */
  contact: string;
}

/** Topic configs a spec may set, keyed by their Kafka names (docs/kafka.md). */
export interface TopicConfig {
  "cleanup.policy"?: "delete" | "compact" | "delete,compact" | undefined;
  "compression.type"?: "producer" | "uncompressed" | "zstd" | "lz4" | "snappy" | "gzip" | undefined;
  "delete.retention.ms"?: number | undefined;
  "max.compaction.lag.ms"?: number | undefined;
  "max.message.bytes"?: number | undefined;
  "message.timestamp.type"?: "CreateTime" | "LogAppendTime" | undefined;
  "min.cleanable.dirty.ratio"?: number | undefined;
  "min.compaction.lag.ms"?: number | undefined;
  "min.insync.replicas"?: number | undefined;
  /** -1 = no size limit. */
  "retention.bytes"?: number | undefined;
  /** -1 = keep forever. */
  "retention.ms"?: number | undefined;
  "segment.bytes"?: number | undefined;
  "segment.ms"?: number | undefined;
  "unclean.leader.election.enable"?: boolean | undefined;
}

/** What the team expects to send: the input of the partition formula. */
export interface Throughput {
  peakMessagesPerSecond: number;
  averageMessageBytes: number;
  maxMessageBytes: number;
}

/** A `kafka.topic` spec; the topic name is the resource name. */
export interface TopicSpec {
  /** A cluster named in the plugin settings. Cannot change once the topic exists. */
  cluster: string;
  /** Can only grow; default from `throughput`. */
  partitions?: number | undefined;
  replicationFactor?: number | undefined;
  config?: TopicConfig | undefined;
  owner: Owner;
  throughput?: Throughput | undefined;
  description?: string | undefined;
  /** Deletion protection. */
  protect?: boolean | undefined;
  /** Take over a topic that already exists in the cluster instead of creating it. */
  adopt?: boolean | undefined;
}

/** Which topics or groups a grant covers: every one, or those whose name starts with `prefix`. */
export type ResourceScope = "all" | { prefix: string };

/** One grant of a `kafka.user`. */
export interface UserGrant {
  topics: ResourceScope;
  operations: "read" | "write" | "read-write";
}

/** A `kafka.user` spec (SCRAM-SHA-512); the user name is the resource name. */
export interface UserSpec {
  cluster: string;
  owner: Owner;
  access: UserGrant[];
  /** Consumer groups it may join; default: groups whose id starts with the user name. */
  consumerGroups?: ResourceScope | undefined;
  /** Raise (by one) to rotate the password; it never goes down. */
  rotation?: number | undefined;
  description?: string | undefined;
}

/** A `postgres.database` spec; the database is named after the resource unless `database` says otherwise. */
export interface DatabaseSpec {
  /** The owning team; default: the team of whoever creates it. */
  team?: string | undefined;
  /** An instance named in the plugin settings. */
  instance: string;
  database?: string | undefined;
  /** The role that owns the database; default `<database>_owner`. */
  owner?: string | undefined;
  extensions?: string[] | undefined;
  connectionLimit?: number | undefined;
  protect?: boolean | undefined;
  /** Bump to generate a new password for the owner role. */
  rotation?: number | undefined;
  description?: string | undefined;
}
