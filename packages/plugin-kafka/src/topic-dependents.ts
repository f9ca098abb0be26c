import type { ResourceLookup } from "@plinth/core";
import type { TopicSpec } from "./topic-spec.ts";

/**
 * The schema subjects (`kafka.schema` resources) bound to a topic, in words:
 * shown with the topic, and told to whoever deletes it (the subjects stay in
 * the registry until their own resources are deleted). Reads only through `lookup`.
 */
export async function topicDependents(name: string, spec: TopicSpec, lookup: ResourceLookup): Promise<string[]> {
  const schemas = (await lookup.list("kafka.schema")).filter(
    (schema) => schema.spec.cluster === spec.cluster && schema.spec.topic === name,
  );
  return schemas.map(
    (schema) =>
      `schema subject "${String(schema.spec.subject)}" (kafka.schema "${schema.name}", team ${schema.ownerTeam}) is ` +
      `bound to this topic: deleting the topic leaves it in the registry; delete that kafka.schema as well`,
  );
}
