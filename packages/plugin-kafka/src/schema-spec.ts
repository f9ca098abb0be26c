import { z } from "zod";

export const schemaFormats = ["AVRO", "PROTOBUF", "JSON"] as const;
export const compatibilityLevels = [
  "BACKWARD",
  "BACKWARD_TRANSITIVE",
  "FORWARD",
  "FORWARD_TRANSITIVE",
  "FULL",
  "FULL_TRANSITIVE",
  "NONE",
] as const;
export type CompatibilityLevel = (typeof compatibilityLevels)[number];

/** Subject names go into URL paths: printable, no slash, as the registries' own UIs allow. */
const SubjectName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9._\-:]+$/, "letters, digits and . _ - : only");

export const SchemaReference = z.strictObject({
  /** The name the schema uses for the referenced type (Avro: its full name; Protobuf: the import path). */
  name: z.string().min(1).max(255),
  subject: SubjectName,
  version: z.number().int().positive(),
});
export type SchemaReference = z.infer<typeof SchemaReference>;

/**
 * A schema subject bound to a topic: `{topic}-value` or `{topic}-key` (the
 * topic name strategy), or a named subject (`subject`). The subject belongs
 * to the team owning the topic. Only the latest version is declared: each
 * new `schema` registers a new version, checked for compatibility first.
 */
export const SchemaSpec = z.strictObject({
  /** The Kafka cluster of the topic; its schema registry is named in the plugin settings. */
  cluster: z.string().min(1).max(64),
  /** The topic (a `kafka.topic` resource on that cluster) whose records this schema describes. */
  topic: z.string().min(1).max(249),
  /** Which half of the records: "value" (default) or "key". */
  part: z.enum(["value", "key"]).optional(),
  /** A named subject instead of `{topic}-{part}` (record name strategies). Filled by the defaults. */
  subject: SubjectName.optional(),
  /** AVRO (default), PROTOBUF or JSON (JSON Schema). */
  format: z.enum(schemaFormats).optional(),
  /** The schema itself, inline: Avro or JSON Schema as JSON text, Protobuf as a .proto file. */
  schema: z
    .string()
    .min(1)
    .max(512 * 1024),
  /** Types this schema uses from other subjects, at a fixed version. */
  references: z.array(SchemaReference).max(64).optional(),
  /** The subject's compatibility level; BACKWARD by default. NONE needs a reviewer. */
  compatibility: z.enum(compatibilityLevels).optional(),
  /**
   * What deleting the resource does: "soft" (default; the registry's soft
   * delete, versions can be recovered) or "hard" (gone for good; setting it
   * and then deleting both need a reviewer).
   */
  deletion: z.enum(["soft", "hard"]).optional(),
  /**
   * Take over a subject that already has versions in the registry: nothing is
   * registered or set where it is already as declared, and the change (which
   * needs a reviewer) says what, if anything, would change. Only a create reads it.
   */
  adopt: z.boolean().optional(),
});
export type SchemaSpec = z.infer<typeof SchemaSpec>;
export type SchemaSpecInput = z.input<typeof SchemaSpec>;
/** Every default filled; `adopt` only where it was asked for, so specs resolved before it existed stay the same. */
export type ResolvedSchemaSpec = Required<Omit<SchemaSpec, "adopt">> & { adopt?: true };

/** The subject a spec names: its own, or `{topic}-{part}`. */
export const subjectOf = (spec: SchemaSpec): string => spec.subject ?? `${spec.topic}-${spec.part ?? "value"}`;

/** The spec with every default filled. Pure and idempotent. */
export function resolveSchemaDefaults(spec: SchemaSpec): {
  spec: ResolvedSchemaSpec;
  explanations: Record<string, string>;
} {
  const explanations: Record<string, string> = {};
  if (!spec.part) explanations.part = "the record value, unless the spec says key";
  if (!spec.subject) explanations.subject = "the topic name strategy: {topic}-{part}";
  if (!spec.format) explanations.format = "Avro unless the spec says otherwise";
  if (!spec.compatibility) explanations.compatibility = "BACKWARD: consumers on the new schema read older records";
  if (!spec.deletion) explanations.deletion = "soft: a deleted subject can be recovered in the registry";
  const resolved: ResolvedSchemaSpec = {
    cluster: spec.cluster,
    topic: spec.topic,
    part: spec.part ?? "value",
    subject: subjectOf(spec),
    format: spec.format ?? "AVRO",
    schema: spec.schema,
    references: spec.references ?? [],
    compatibility: spec.compatibility ?? "BACKWARD",
    deletion: spec.deletion ?? "soft",
    ...(spec.adopt === true && { adopt: true as const }),
  };
  return { spec: resolved, explanations };
}
