import type { KafkaSettings } from "./cluster-settings.ts";
import { listClusterTopics } from "./list-cluster-topics.ts";
import type { TopicSpec } from "./topic-spec.ts";
import { findTopicConflict } from "./topic-name.ts";

/**
 * Looks for a topic on the cluster that a new `name` would clash with and
 * that Plinth does not manage yet (core only asks before a create). Says how
 * to adopt it, or why the name cannot be used.
 */
export async function findUnmanagedTopic(
  name: string,
  spec: TopicSpec,
  settings: KafkaSettings,
): Promise<string | undefined> {
  // Core validates first; an unknown cluster is bad input (UNKNOWN_CLUSTER), never a cluster to ask.
  if (spec.adopt || !settings.clusters[spec.cluster]) return undefined;
  const topics = await listClusterTopics(settings, spec.cluster);
  const conflict = findTopicConflict(
    name,
    topics.map((topic) => topic.name),
  );
  if (!conflict) return undefined;
  if (conflict.kind === "exists") {
    return `topic "${name}" already exists on cluster ${spec.cluster} but Plinth does not manage it: apply again with "adopt: true" to import it as it is (nothing is recreated), or pick another name`;
  }
  return `topic "${conflict.topic}" on cluster ${spec.cluster} collides with "${name}" (Kafka treats "." and "_" alike in topic names): pick another name`;
}
