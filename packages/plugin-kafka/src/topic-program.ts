import type { ProgramInput } from "@plinth/core";
import type { KafkaSettings } from "./cluster-settings.ts";
import type { TopicSpec } from "./topic-spec.ts";

/**
 * The Pulumi program of one topic: a provider for its cluster and the topic.
 * Expects a resolved spec (partitions and replication factor filled).
 * Outputs: `{ topic, partitions, replicationFactor, cluster, bootstrapServers }`.
 *
 * - `adopt: true` imports the existing topic (ID = topic name) instead of
 *   creating it, then applies in the same update only what the spec changes.
 *   Pulumi refuses to replace a resource that still specifies an import ID,
 *   so an adoption that would recreate the topic (fewer partitions than it
 *   has) fails and leaves it intact, and so does any later replacement.
 * - `protect: true` also sets Pulumi's `protect`: defense in depth under the
 *   submit-time refusal (validate, review), so even a delete or a replacement
 *   that got past them cannot destroy the topic. Removing protection takes an
 *   update with `protect: false` (reviewed), which clears the flag in state.
 *
 * The Pulumi SDK is imported here, lazily: the server loads the plugin for
 * schemas, defaults and review without paying for it; only the engine's
 * child process runs programs.
 */
export async function topicProgram({ name, spec, settings }: ProgramInput<TopicSpec, KafkaSettings>) {
  const cluster = settings.clusters[spec.cluster];
  if (!cluster) throw new Error(`unknown cluster "${spec.cluster}"`);
  const { partitions, replicationFactor } = spec;
  if (partitions === undefined || replicationFactor === undefined) {
    throw new Error("the topic program needs a resolved spec (partitions and replicationFactor filled)");
  }
  const { declareTopic } = await import("./topic-resources.ts");
  return declareTopic(name, { ...spec, partitions, replicationFactor }, cluster);
}
