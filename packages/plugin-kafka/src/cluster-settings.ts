import type { Violation } from "@plinth/core";
import { z } from "zod";

const day = 24 * 60 * 60 * 1000;

/** Kafka's own default for `max.message.bytes` (1 MiB + 12 bytes of record batch overhead). */
export const kafkaDefaultMaxMessageBytes = 1_048_588;

/** A regular expression source that compiles; checked at start so a typo fails loudly, not per request. */
const regexSource = z.string().refine(
  (source) => {
    try {
      new RegExp(source, "u");
      return true;
    } catch {
      return false;
    }
  },
  { message: "not a valid regular expression" },
);

const TlsSettings = z.strictObject({
  enabled: z.boolean(),
  /** PEM of the CA that signed the brokers' certificates; the system trust store when absent. */
  caCert: z.string().optional(),
  /** PEM client certificate and key, for mutual TLS. */
  clientCert: z.string().optional(),
  clientKey: z.string().optional(),
  /** Accept any broker certificate: development clusters only. */
  skipVerify: z.boolean().default(false),
});

/**
 * Plinth's own login. The password is written in the config (`password`) or,
 * better, read from an environment variable of the service (`passwordEnv`).
 * The variable is read once, when the settings are parsed at start, so an
 * unset one fails the start rather than the first apply; after parsing,
 * `password` always holds the value and `passwordEnv` is gone.
 */
const SaslSettings = z
  .strictObject({
    mechanism: z.enum(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
    username: z.string().min(1),
    /** The password, written in the config. Prefer `passwordEnv`. */
    password: z.string().min(1).optional(),
    /** Name of an environment variable of the service holding the password. */
    passwordEnv: z.string().min(1).optional(),
  })
  .refine((sasl) => (sasl.password === undefined) !== (sasl.passwordEnv === undefined), {
    message: "set exactly one of password and passwordEnv",
    path: ["password"],
  })
  .transform(({ passwordEnv, password, ...sasl }, ctx) => {
    const value = passwordEnv === undefined ? password : process.env[passwordEnv];
    if (!value) {
      ctx.issues.push({
        code: "custom",
        input: passwordEnv,
        path: ["passwordEnv"],
        message: `environment variable ${passwordEnv} is not set`,
      });
      return z.NEVER;
    }
    return { ...sasl, password: value };
  });

/**
 * Limits a request must stay within on this cluster. They judge what a change
 * changes, never what already exists (an adopted topic or an admin override
 * stays updatable). Violations of these carry a `GUARDRAIL_` reason: an admin
 * may override them, and the change then needs a reviewer.
 */
const Guardrails = z.strictObject({
  maxPartitions: z.int().min(1).default(120),
  minReplicationFactor: z.int().min(1).default(1),
  minRetentionMs: z
    .int()
    .min(1)
    .default(60 * 60 * 1000),
  /** `retention.ms: -1` (keep forever) counts as above any maximum. */
  maxRetentionMs: z
    .int()
    .min(1)
    .default(30 * day),
  maxMessageBytes: z
    .int()
    .min(1)
    .default(8 * 1024 * 1024),
  /**
   * Config keys a request may set, beyond the ones Plinth always manages
   * (`retention.ms`, `min.insync.replicas`, `max.message.bytes`). Absent = every
   * config the spec knows.
   */
  allowedConfigs: z.array(z.string()).optional(),
  /** Names of new topics must match this (whole name), e.g. "^[a-z0-9]+\\.[a-z0-9-]+\\.v[0-9]+$". */
  namingPattern: regexSource.optional(),
  /**
   * Smallest `segment.ms`: each segment is a file (and index files) on every
   * replica, so tiny segments let one producer exhaust a shared broker's file
   * handles. Default one hour.
   */
  minSegmentMs: z
    .int()
    .min(1)
    .default(60 * 60 * 1000),
  /** Smallest `segment.bytes`, for the same reason. Default 1 MiB. */
  minSegmentBytes: z
    .int()
    .min(14)
    .default(1024 * 1024),
  /**
   * The range of `min.cleanable.dirty.ratio`: near 0 the log cleaner
   * recompacts a topic without end, near 1 a compacted topic grows unbounded.
   */
  minCleanableDirtyRatio: z.number().min(0).max(1).default(0.1),
  maxCleanableDirtyRatio: z.number().min(0).max(1).default(0.9),
  /** kafka.user: a grant on a topic or group prefix shorter than this covers too much to be deliberate. */
  minGrantPrefixLength: z.int().min(1).default(3),
  /** kafka.user: false refuses grants on all topics or all groups (e.g. on a cluster shared by many teams). */
  allowAllTopicsGrants: z.boolean().default(true),
  /**
   * kafka.user: true lets requesters grant topic prefixes no managed topic is
   * under yet (e.g. a cluster whose topics are made outside Plinth). False,
   * the default, refuses them: whoever creates topics there later would be
   * read without being asked. An admin may still override, with a reviewer.
   */
  allowUnownedPrefixGrants: z.boolean().default(false),
});

/** Inputs of the smart defaults (see `topic-defaults.ts` for the formula). */
const Defaults = z.strictObject({
  retentionMs: z
    .int()
    .min(1)
    .default(7 * day),
  /** Bytes per second one partition is planned to carry (consumers are usually the bottleneck). */
  partitionTargetBytesPerSecond: z
    .int()
    .min(1)
    .default(1024 * 1024),
  /** Messages per second one partition is planned to carry. */
  partitionTargetMessagesPerSecond: z.int().min(1).default(1_000),
  /** Multiplier on the declared peak: room to grow before partitions must be added (which remaps keys). */
  headroom: z.number().min(1).default(2),
  minPartitions: z.int().min(1).default(3),
  /** Computed partition counts round up to a multiple of this, so 1, 2, 3 or 6 consumers share evenly. */
  partitionStep: z.int().min(1).default(6),
});

const PrometheusVerify = z.strictObject({
  /** Base URL of a Prometheus-compatible API, e.g. "http://prometheus:9090". */
  url: z.url(),
  /** PromQL instant query; `{{topic}}` and `{{cluster}}` are replaced. Ready when it returns a non-zero value. */
  query: z.string().min(1),
  timeoutMs: z.int().min(1).default(5_000),
});

/** Where a topic's page reads its numbers (`summarize`): Prometheus, with queries over what the brokers export. */
const SummaryMetrics = z.strictObject({
  /** Base URL of a Prometheus-compatible API. Default: `verify.prometheus.url`. */
  url: z.url().optional(),
  /** PromQL for a topic's bytes on disk; `{{topic}}` and `{{cluster}}` are replaced. The verification's metric. */
  logSizeQuery: z.string().min(1).default('sum(kafka_log_size{cluster="{{cluster}}",topic="{{topic}}"})'),
  /**
   * PromQL for the topic's consumer lag in messages, one series per consumer group labelled `group`
   * (e.g. over a lag exporter's metric). Brokers do not export lag themselves: absent, the page says so.
   */
  lagQuery: z.string().min(1).optional(),
  /** How many hours of log size the page shows. */
  hours: z.number().min(0.25).max(48).default(6),
  timeoutMs: z.int().min(1).default(3_000),
});

/** One team's limits on a cluster; a metric absent is unlimited. */
const QuotaLimits = z.strictObject({
  /** Topics the team owns on the cluster. */
  topics: z.int().min(0).optional(),
  /** Partitions over all its topics. */
  partitions: z.int().min(0).optional(),
  /** Bytes its topics declare they keep: peak throughput × retention × replicas, summed. */
  retentionBytes: z.number().min(0).optional(),
  /** kafka.user users the team owns on the cluster. */
  users: z.int().min(0).optional(),
});
export type QuotaLimits = z.output<typeof QuotaLimits>;

/** Per-team quotas on a cluster: `default` for every team, `teams` overriding it metric by metric. */
const Quotas = z.strictObject({
  default: QuotaLimits.default({}),
  teams: z.record(z.string().min(1), QuotaLimits).default({}),
});

export const ClusterSettings = z.strictObject({
  bootstrapServers: z.array(z.string().min(1)).min(1),
  tls: TlsSettings.optional(),
  sasl: SaslSettings.optional(),
  /** Number of brokers; bounds the replication factor. Assumed 3 when absent. */
  brokers: z.int().min(1).optional(),
  /** Passed to the Pulumi provider (`$MAJOR.$MINOR.$PATCH`); the provider's default when absent. */
  kafkaVersion: z.string().optional(),
  /**
   * The user names in the brokers' `super.users` (without "User:"), which
   * Kafka does not report over its API: kafka.user refuses to create these,
   * since whoever reveals the new password would hold a super user.
   */
  superUsers: z.array(z.string().min(1)).default([]),
  guardrails: Guardrails.prefault({}),
  defaults: Defaults.prefault({}),
  verify: z.strictObject({ prometheus: PrometheusVerify.optional() }).optional(),
  /** What a topic's page shows beyond its spec. Absent: Prometheus at `verify.prometheus.url`, default queries. */
  summary: SummaryMetrics.optional(),
  quotas: Quotas.optional(),
  /**
   * How the whole cluster is read (cluster view, import, bulk drift): topics
   * per metadata or describeConfigs request, and requests in flight at once.
   * One request for every topic grows with the cluster until it outlasts the
   * client's request timeout; bounded ones do not.
   */
  listing: z
    .strictObject({
      batchSize: z.int().min(1).max(5_000).default(500),
      concurrency: z.int().min(1).max(8).default(2),
    })
    .prefault({}),
});
export type ClusterSettings = z.output<typeof ClusterSettings>;

/** The `kafka` section of the service config. */
export const KafkaSettings = z.strictObject({
  clusters: z.record(z.string().min(1), ClusterSettings),
});
export type KafkaSettings = z.output<typeof KafkaSettings>;
export type KafkaSettingsInput = z.input<typeof KafkaSettings>;

/** The violation for a spec naming a cluster the settings do not have, listing those they do. */
export function unknownClusterViolation(settings: KafkaSettings, cluster: string): Violation {
  const known = Object.keys(settings.clusters).sort();
  return {
    field: "cluster",
    reason: "UNKNOWN_CLUSTER",
    description: `unknown cluster "${cluster}"; allowed: ${known.join(", ") || "(none configured)"}`,
  };
}

/** A team's limits on `cluster` among `metrics` (those a resource type counts); empty = unlimited. */
export function teamQuota(
  settings: KafkaSettings,
  cluster: string,
  team: string,
  metrics: readonly (keyof QuotaLimits)[],
): Record<string, number> {
  const quotas = settings.clusters[cluster]?.quotas;
  if (!quotas) return {};
  const merged: QuotaLimits = { ...quotas.default, ...quotas.teams[team] };
  const limits: Record<string, number> = {};
  for (const metric of metrics) {
    const limit = merged[metric];
    if (limit !== undefined) limits[metric] = limit;
  }
  return limits;
}
