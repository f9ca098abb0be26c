import { definePlugin } from "@plinth/core";
import { precheckSchema } from "./schema-precheck.ts";
import { schemaReaches } from "./schema-reaches.ts";
import { isNotFound, registryClient } from "./schema-registry-client.ts";
import { reviewSchema, schemaReviewPolicy } from "./schema-review.ts";
import { SchemaSettings } from "./schema-settings.ts";
import { type ResolvedSchemaSpec, SchemaSpec, resolveSchemaDefaults, subjectOf } from "./schema-spec.ts";
import { validateSchema } from "./schema-validate.ts";
import { findUnmanagedSchema, verifySchema, verifySchemaGone } from "./schema-verify.ts";

const resolved = (spec: SchemaSpec): ResolvedSchemaSpec => resolveSchemaDefaults(spec).spec;

/**
 * `kafka.schema`: a schema subject bound to a topic, in the schema registry
 * of the topic's cluster (any registry with the Confluent-compatible REST
 * API). Owned by the team owning the topic; a new schema is checked by the
 * registry for compatibility before the change is recorded; applied by a
 * Pulumi dynamic provider, verified by reading the subject back; drift found
 * with one listing of subjects per registry; soft delete unless the spec
 * says hard (reviewed).
 */
export const kafkaSchema = definePlugin<SchemaSpec, SchemaSettings>({
  type: "kafka.schema",
  version: "1.0.0",
  description:
    "A schema subject (Avro, Protobuf or JSON Schema) bound to a Kafka topic, with its compatibility level, checked by the registry before review.",
  settings: SchemaSettings,
  spec: SchemaSpec,
  reaches: (_name, spec, lookup) => schemaReaches(spec, lookup),
  // Subjects are case-sensitive and global to a registry.
  identity: (_name, spec) => `${spec.cluster}/${subjectOf(spec)}`,
  defaults: (_name, spec) => resolveSchemaDefaults(spec),
  validate: (_name, next, previous, ctx) =>
    validateSchema(resolved(next), previous && resolved(previous), ctx.settings),
  findUnmanaged: (_name, spec, ctx) => findUnmanagedSchema(spec, ctx.settings),
  precheck: (_name, next, previous, ctx) =>
    precheckSchema(resolved(next), previous && resolved(previous), ctx.settings),
  inventoryScopes: (ctx) => Object.keys(ctx.settings.registries),
  inventory: async (cluster, ctx) => {
    const registry = ctx.settings.registries[cluster];
    if (!registry) return [];
    return (await registryClient(registry.url).subjects()).map((subject) => ({
      name: subject,
      identity: `${cluster}/${subject}`,
      observed: {},
    }));
  },
  // Drift in bulk: one listing of live subjects per registry; a subject's versions and level are read back by
  // `verify` and by the refreshing preview, not listed.
  observeInBulk: {
    scope: (_name, spec) => spec.cluster,
    differences: (item, _name, spec) =>
      item ? [] : [`subject "${subjectOf(spec)}" has no live version in the registry of cluster "${spec.cluster}"`],
  },
  review: (input) =>
    reviewSchema({
      ...input,
      previous: input.previous && resolved(input.previous),
      next: input.next && resolved(input.next),
    }),
  reviewPolicy: schemaReviewPolicy,
  program: async ({ name, spec, settings }) => {
    const full = resolved(spec);
    const registry = settings.registries[full.cluster];
    if (!registry) throw new Error(`no schema registry is configured for cluster "${full.cluster}"`);
    const { declareSchema } = await import("./schema-resource.ts");
    return declareSchema(name, full, registry.url);
  },
  verify: verifySchema,
  verifyGone: verifySchemaGone,
});

/** The subjects bound to a topic, read from the registry of its cluster: for the topic's page and its delete. */
export async function subjectsOfTopic(settings: SchemaSettings, cluster: string, topic: string): Promise<string[]> {
  const registry = settings.registries[cluster];
  if (!registry) return [];
  try {
    return (await registryClient(registry.url).subjects()).filter(
      (subject) => subject === `${topic}-value` || subject === `${topic}-key`,
    );
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}
