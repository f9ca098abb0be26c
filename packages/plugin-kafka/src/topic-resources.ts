import * as kafka from "@pulumi/kafka";
import { clusterProviderArgs } from "./cluster-provider.ts";
import type { ClusterSettings } from "./cluster-settings.ts";
import { topicConfigStrings } from "./topic-config-strings.ts";
import type { TopicSpec } from "./topic-spec.ts";

/** What `declareTopic` needs: a resolved spec, whose counts are filled. */
export type ResolvedTopicSpec = TopicSpec & { partitions: number; replicationFactor: number };

/**
 * Declares the cluster's provider and the topic in the running Pulumi
 * program (see `topicProgram` for adopt and protect) and returns the outputs.
 */
export function declareTopic(name: string, spec: ResolvedTopicSpec, cluster: ClusterSettings) {
  const provider = new kafka.Provider(spec.cluster, clusterProviderArgs(cluster));
  const topic = new kafka.Topic(
    name,
    {
      name,
      partitions: spec.partitions,
      replicationFactor: spec.replicationFactor,
      config: topicConfigStrings(spec.config),
    },
    { provider, protect: spec.protect, ...(spec.adopt && { import: name }) },
  );
  return {
    topic: topic.name,
    partitions: topic.partitions,
    replicationFactor: topic.replicationFactor,
    cluster: spec.cluster,
    bootstrapServers: cluster.bootstrapServers,
  };
}
