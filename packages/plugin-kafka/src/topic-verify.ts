import type { VerifyInput, VerifyResult } from "@plinth/core";
import type { KafkaSettings } from "./cluster-settings.ts";
import { withAdmin } from "./kafka-admin.ts";
import { checkPrometheus } from "./prometheus-check.ts";
import { topicConfigStrings } from "./topic-config-strings.ts";
import type { TopicSpec } from "./topic-spec.ts";

/**
 * Checks the topic as the cluster sees it, independently of Pulumi: it
 * exists, with the spec's partitions, replication factor and configs. With
 * `verify.prometheus` in the cluster settings, the metrics store must also
 * report it (the original system's test: the topic shows up in the metrics
 * platform) before the admin client is asked. Must not change anything; the
 * client is always closed. A broker or Prometheus that cannot be reached is
 * "not ready" (with the error), so core keeps polling until its deadline.
 */
export async function verifyTopic(input: VerifyInput<TopicSpec, KafkaSettings>): Promise<VerifyResult> {
  const { name, spec, settings } = input;
  const prometheus = settings.clusters[spec.cluster]?.verify?.prometheus;
  if (!prometheus) return checkAdmin(input);
  const metrics = await checkPrometheus(prometheus, name, spec.cluster);
  if (!metrics.ready) return metrics;
  const admin = await checkAdmin(input);
  return admin.ready ? { ready: true, message: `${metrics.message}; ${admin.message}` } : admin;
}

async function checkAdmin({ name, spec, settings }: VerifyInput<TopicSpec, KafkaSettings>): Promise<VerifyResult> {
  const cluster = settings.clusters[spec.cluster];
  if (!cluster) return { ready: false, message: `unknown cluster "${spec.cluster}"` };
  try {
    return await withAdmin(cluster, async (admin) => {
      const topics = await admin.listTopics();
      if (!topics.includes(name))
        return { ready: false, message: `topic "${name}" not found on cluster "${spec.cluster}"` };
      const metadata = await admin.metadata({ topics: [name], forceUpdate: true });
      const topic = metadata.topics.get(name);
      const problems: string[] = [];
      if (topic?.partitionsCount !== spec.partitions) {
        problems.push(`${topic?.partitionsCount} partitions, expected ${spec.partitions}`);
      }
      const replicas = topic?.partitions[0]?.replicas.length;
      if (spec.replicationFactor !== undefined && replicas !== spec.replicationFactor) {
        problems.push(`replication factor ${replicas}, expected ${spec.replicationFactor}`);
      }
      const expected = topicConfigStrings(spec.config);
      const keys = Object.keys(expected);
      if (keys.length > 0) {
        const { ConfigResourceTypes } = await import("@platformatic/kafka");
        const [description] = await admin.describeConfigs({
          resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: name, configurationKeys: keys }],
        });
        const actual = new Map(description?.configs.map((config) => [config.name, config.value]));
        for (const key of keys) {
          if (actual.get(key) !== expected[key])
            problems.push(`${key} is ${actual.get(key)}, expected ${expected[key]}`);
        }
      }
      if (problems.length > 0) return { ready: false, message: `topic "${name}": ${problems.join("; ")}` };
      return { ready: true, message: `topic "${name}" has ${spec.partitions} partitions and the expected configs` };
    });
  } catch (error) {
    return { ready: false, message: `cluster "${spec.cluster}" unreachable: ${(error as Error).message}` };
  }
}

/**
 * After a delete: the topic is gone from the cluster's topic list (Kafka
 * deletes asynchronously, so core polls). Must not change anything.
 */
export async function verifyTopicGone({
  name,
  spec,
  settings,
}: VerifyInput<TopicSpec, KafkaSettings>): Promise<VerifyResult> {
  const cluster = settings.clusters[spec.cluster];
  if (!cluster) return { ready: false, message: `unknown cluster "${spec.cluster}"` };
  try {
    const topics = await withAdmin(cluster, (admin) => admin.listTopics());
    return topics.includes(name)
      ? { ready: false, message: `topic "${name}" is still listed on cluster "${spec.cluster}"` }
      : { ready: true, message: `topic "${name}" is no longer on cluster "${spec.cluster}"` };
  } catch (error) {
    return { ready: false, message: `cannot reach cluster "${spec.cluster}": ${(error as Error).message}` };
  }
}
