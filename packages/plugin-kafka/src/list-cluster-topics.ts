import type { Admin } from "@platformatic/kafka";
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
 * Runs `read` on `items` in slices of `size`, at most `concurrency` slices at
 * once, and returns every slice's results in order.
 */
async function inBatches<T, R>(
  items: readonly T[],
  size: number,
  concurrency: number,
  read: (batch: T[]) => Promise<R[]>,
): Promise<R[]> {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size));
  const results: R[][] = new Array<R[]>(batches.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < batches.length; index = next++) results[index] = await read(batches[index]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
  return results.flat();
}

/** One batch's topics as Kafka reports them: partitions, replicas and, `withConfigs`, the configs set on each. */
async function describeBatch(admin: Admin, names: string[], withConfigs: boolean): Promise<ClusterTopic[]> {
  const { ConfigResourceTypes, ConfigSources } = await import("@platformatic/kafka");
  const metadata = await admin.metadata({ topics: names, forceUpdate: true });
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
}

/**
 * `describeBatch`, once more with the topics still listed when a topic of the
 * batch was deleted after the list request: Kafka fails the whole metadata or
 * describeConfigs request for one unknown topic, and a listing of 10,000
 * topics in batches takes long enough for an out-of-band delete to land in it.
 * Any other failure is thrown as it is.
 */
async function describeWhatRemains(admin: Admin, names: string[], withConfigs: boolean): Promise<ClusterTopic[]> {
  try {
    return await describeBatch(admin, names, withConfigs);
  } catch (error) {
    const listed = new Set(await admin.listTopics());
    const remaining = names.filter((name) => listed.has(name));
    if (remaining.length === names.length) throw error;
    return remaining.length === 0 ? [] : await describeBatch(admin, remaining, withConfigs);
  }
}

/**
 * The topics a cluster actually holds (internal "__" topics excluded),
 * sorted by name, as Kafka reports them, with the configs set on each: the
 * basis of the cluster view, of "exists but unmanaged" detection
 * (`findTopicConflict`) and of a reconcile round's bulk drift check. One list
 * request, then metadata (and `withConfigs` describeConfigs) in batches of
 * the cluster's `listing.batchSize` topics, `listing.concurrency` at a time:
 * a single request for 10,000 topics takes about as long as the client waits
 * for any request on a loaded machine. Read-only. Throws when the cluster is
 * unknown or unreachable.
 */
export async function listClusterTopics(
  settings: KafkaSettings,
  clusterName: string,
  withConfigs = false,
): Promise<ClusterTopic[]> {
  const cluster = settings.clusters[clusterName];
  if (!cluster)
    throw new Error(`unknown cluster "${clusterName}"; known: ${Object.keys(settings.clusters).join(", ")}`);
  const { batchSize, concurrency } = cluster.listing;
  return withAdmin(cluster, async (admin) => {
    const names = (await admin.listTopics()).filter((name) => !name.startsWith("__")).sort();
    return await inBatches(names, batchSize, concurrency, (batch) => describeWhatRemains(admin, batch, withConfigs));
  });
}
