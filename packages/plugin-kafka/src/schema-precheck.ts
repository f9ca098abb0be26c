import type { Precheck } from "@plinth/core";
import { describeSchemaChange, incompatibilityViolations, sameSchema } from "./schema-changes.ts";
import { isNotFound, registryClient } from "./schema-registry-client.ts";
import type { SchemaSettings } from "./schema-settings.ts";
import type { ResolvedSchemaSpec } from "./schema-spec.ts";

/**
 * Before a schema change is recorded: the registry's own compatibility check
 * of the new schema against the subject's latest version (under the level the
 * subject has in the registry now), and what changed, for the reviewer. An
 * incompatible schema is refused with one violation per cause; a subject
 * with no live version (new, or soft-deleted) has nothing to be compatible
 * with. Changing only the level, or asking for NONE, needs no check.
 */
export async function precheckSchema(
  next: ResolvedSchemaSpec,
  previous: ResolvedSchemaSpec | undefined,
  settings: SchemaSettings,
): Promise<Precheck> {
  const findings = describeSchemaChange(previous, next);
  const registry = settings.registries[next.cluster];
  // validate refuses an unknown cluster; nothing to ask.
  if (!registry) return { findings };
  const unchanged =
    previous !== undefined &&
    previous.format === next.format &&
    sameSchema(next.format, previous.schema, next.schema) &&
    JSON.stringify(previous.references) === JSON.stringify(next.references);
  if (unchanged || next.compatibility === "NONE") return { findings };
  const client = registryClient(registry.url);
  let level: string;
  try {
    level = await client.compatibilityLevel(next.subject);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    return { findings };
  }
  try {
    const answer = await client.checkCompatibility(next.subject, {
      schema: next.schema,
      schemaType: next.format,
      references: next.references,
    });
    if (answer.is_compatible) {
      return { findings: [...findings, `the registry finds it compatible with the latest version under ${level}`] };
    }
    return { violations: incompatibilityViolations(answer, next, previous, level), findings };
  } catch (error) {
    if (isNotFound(error)) return { findings };
    throw error;
  }
}
