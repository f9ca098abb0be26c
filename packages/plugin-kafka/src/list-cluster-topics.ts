import type { KafkaSettings } from "./cluster-settings.ts";
import { withAdmin } from "./kafka-admin.ts";

export interface ClusterTopic {
  name: string;
  partitions: number;
  replicationFactor: number;
}

/**
 * The topics a cluster actually holds (internal "__" topics excluded),
 * sorted by name, as Kafka reports them: the basis of the cluster view and
 * of "exists but unmanaged" detection (`findTopicConflict`). Read-only.
 * Throws when the cluster is unknown or unreachable.
 */
export async function listClusterTopics(settings: KafkaSettings, clusterName: string): Promise<ClusterTopic[]> {
  const cluster = settings.clusters[clusterName];
  if (!cluster)
    throw new Error(`unknown cluster "${clusterName}"; known: ${Object.keys(settings.clusters).join(", ")}`);
  return withAdmin(cluster, async (admin) => {
    const names = (await admin.listTopics()).filter((name) => !name.startsWith("__")).sort();
    if (names.length === 0) return [];
    const metadata = await admin.metadata({ topics: names, forceUpdate: true });
    return names.flatMap((name) => {
      const topic = metadata.topics.get(name);
      if (!topic) return [];
      return [
        { name, partitions: topic.partitionsCount, replicationFactor: topic.partitions[0]?.replicas.length ?? 0 },
      ];
    });
  });
}
