import type { Reach, ResourceLookup } from "@plinth/core";
import type { SchemaSpec } from "./schema-spec.ts";

/**
 * The topic a subject is bound to, as a reach only its owning team may
 * hold: a requester of another team is refused, and a topic Plinth does not
 * manage has no owner, so a requester is refused there too (create the
 * topic first). Reads only through `lookup`.
 */
export async function schemaReaches(spec: SchemaSpec, lookup: ResourceLookup): Promise<Reach[]> {
  const access = `register schemas for topic "${spec.topic}" on cluster "${spec.cluster}"`;
  const topic = (await lookup.list("kafka.topic")).find(
    (resource) => resource.name === spec.topic && resource.spec.cluster === spec.cluster,
  );
  if (!topic) {
    return [
      {
        field: "topic",
        access,
        hint: `No managed topic "${spec.topic}" on cluster "${spec.cluster}": create it first (kafka.topic)`,
      },
    ];
  }
  return [{ field: "topic", ownerTeam: topic.ownerTeam, access, ownersOnly: true }];
}
