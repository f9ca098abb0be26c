import { findUnmanagedTopic } from "./find-unmanaged-topic.ts";
import { importTopicSpec } from "./import-topic-spec.ts";
import { listClusterTopics } from "./list-cluster-topics.ts";
import { definePlugin } from "@plinth/core";
import { KafkaSettings, teamQuota } from "./cluster-settings.ts";
import { topicQuotaMetrics, topicUsage } from "./topic-usage.ts";
import { topicCollisionKey } from "./topic-name.ts";
import { topicDependents } from "./topic-dependents.ts";
import { topicDifferences } from "./topic-differences.ts";
import { resolveTopicDefaults } from "./topic-defaults.ts";
import { topicProgram } from "./topic-program.ts";
import { reviewTopic, topicReviewPolicy } from "./topic-review.ts";
import { TopicSpec } from "./topic-spec.ts";
import { validateTopic } from "./topic-validate.ts";
import { summarizeTopic } from "./topic-summary.ts";
import { verifyTopic, verifyTopicGone } from "./topic-verify.ts";

/**
 * `kafka.topic`: a topic on one of the clusters named in the plugin settings,
 * sized from its declared throughput, kept within the cluster's guardrails,
 * and verified against the broker (or a metrics query) independently of Pulumi.
 */
export const kafkaTopic = definePlugin<TopicSpec, KafkaSettings>({
  type: "kafka.topic",
  version: "1.0.0",
  description:
    "A Kafka topic: smart defaults from declared throughput, per-cluster guardrails, verified on the broker.",
  settings: KafkaSettings,
  spec: TopicSpec,
  ownerTeam: (spec) => spec.owner.team,
  usage: (_name, spec) => topicUsage(spec),
  quota: (cluster, team, ctx) => teamQuota(ctx.settings, cluster, team, topicQuotaMetrics),
  // Kafka refuses two topics whose names differ only by "." versus "_"; case is significant.
  identity: (name, spec) => `${spec.cluster}/${topicCollisionKey(name)}`,
  defaults: (_name, spec, ctx) => resolveTopicDefaults(spec, ctx.settings),
  validate: (name, next, previous, ctx) => validateTopic(name, next, previous, ctx.settings),
  validateDelete: (name, previous, ctx) => validateTopic(name, undefined, previous, ctx.settings),
  // The kafka.schema subjects bound to the topic: shown by GetResource, told on a delete.
  dependents: (name, spec, lookup) => topicDependents(name, spec, lookup),
  findUnmanaged: (name, spec, ctx) => findUnmanagedTopic(name, spec, ctx.settings),
  // The cluster view: scope = cluster name.
  inventoryScopes: (ctx) => Object.keys(ctx.settings.clusters),
  inventory: async (cluster, ctx) =>
    (await listClusterTopics(ctx.settings, cluster, true)).map((topic) => ({
      name: topic.name,
      identity: `${cluster}/${topicCollisionKey(topic.name)}`,
      observed: {
        partitions: topic.partitions,
        replicationFactor: topic.replicationFactor,
        ...(topic.config && Object.keys(topic.config).length > 0 && { config: topic.config }),
      },
    })),
  // Drift in bulk: one listing per cluster (topics, partitions and configs) for every topic on it.
  observeInBulk: {
    scope: (_name, spec) => spec.cluster,
    differences: (item, name, spec) => topicDifferences(item, name, spec),
  },
  // `plinth import`: the topic as it is, adopted by its first change.
  importSpec: (item, cluster, owner) => importTopicSpec(item, cluster, owner),
  review: (input, ctx) => reviewTopic(input, ctx.settings),
  reviewPolicy: topicReviewPolicy,
  program: topicProgram,
  secretOutputs: [],
  verify: verifyTopic,
  verifyGone: verifyTopicGone,
  summarize: summarizeTopic,
  // A topic's provider ID is its name: a create cut short by a crash is adopted, never duplicated or failed.
  adoptPendingCreate: ({ type, inputs }) =>
    type === "kafka:index/topic:Topic" && typeof inputs.name === "string" ? inputs.name : undefined,
});
