import type { KafkaSettings } from "./cluster-settings.ts";
import { withAdmin } from "./kafka-admin.ts";

export interface ClusterTopic {
  name: string;
  partitions: number;
  replicationFactor: number;
  /**
   * With `withConfigs`: the configs set on the topic itself (Kafka's
   * DYNAMIC_TOPIC_CONFIG source), as strings; broker defaults excluded.
   */
  config?: Record<string, string>;
}

/**
 * The topics a cluster actually holds (internal "__" topics excluded),
 * sorted by name, as Kafka reports them, with the configs set on each: the
 * basis of the cluster view, of "exists but unmanaged" detection
 * (`findTopicConflict`) and of a reconcile round's bulk drift check. Two
 * requests whatever the number of topics (list, metadata), and one
 * describeConfigs for all of them `withConfigs`. Read-only. Throws when the cluster is unknown
 * or unreachable.
 */
export async function listClusterTopics(
  settings: KafkaSettings,
  clusterName: string,
  withConfigs = false,
): Promise<ClusterTopic[]> {
  const cluster = settings.clusters[clusterName];
  if (!cluster)
    throw new Error(`unknown cluster "${clusterName}"; known: ${Object.keys(settings.clusters).join(", ")}`);
  return withAdmin(cluster, async (admin) => {
    const names = (await admin.listTopics()).filter((name) => !name.startsWith("__")).sort();
    if (names.length === 0) return [];
    const metadata = await admin.metadata({ topics: names, forceUpdate: true });
    const { ConfigResourceTypes, ConfigSources } = await import("@platformatic/kafka");
    const descriptions = withConfigs
      ? await admin.describeConfigs({
          resources: names.map((name) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName: name })),
        })
      : [];
    const configs = new Map(
      descriptions.map((description) => [
        description.resourceName,
        Object.fromEntries(
          description.configs
            .filter((config) => config.configSource === ConfigSources.DYNAMIC_TOPIC_CONFIG && config.value !== null)
            .map((config) => [config.name, config.value as string]),
        ),
      ]),
    );
    return names.flatMap((name) => {
      const topic = metadata.topics.get(name);
      if (!topic) return [];
      return [
        {
          name,
          partitions: topic.partitionsCount,
          replicationFactor: topic.partitions[0]?.replicas.length ?? 0,
          ...(withConfigs && { config: configs.get(name) ?? {} }),
        },
      ];
    });
  });
}
