import type { Precheck } from "@plinth/core";
import { describeSchemaChange, incompatibilityViolations, sameSchema } from "./schema-changes.ts";
import { type RegistryClient, isNotFound, registryClient } from "./schema-registry-client.ts";
import type { SchemaSettings } from "./schema-settings.ts";
import type { ResolvedSchemaSpec } from "./schema-spec.ts";

/**
 * Before a schema change is recorded, and again when the worker claims it:
 * the registry's own compatibility check of the new schema against the
 * subject's latest version (under the level the subject has in the registry
 * now), and what changed, for the reviewer. An incompatible schema is
 * refused with one violation per cause; a subject with no live version (new,
 * or soft-deleted) has nothing to be compatible with. Changing only the
 * level, or asking for NONE, needs no check. An adoption (a create with
 * `adopt`) is described against the subject as the registry has it.
 */
export async function precheckSchema(
  next: ResolvedSchemaSpec,
  previous: ResolvedSchemaSpec | undefined,
  settings: SchemaSettings,
): Promise<Precheck> {
  const registry = settings.registries[next.cluster];
  // validate refuses an unknown cluster; nothing to ask.
  if (!registry) return { findings: describeSchemaChange(previous, next) };
  const client = registryClient(registry.url);
  const live = previous || !next.adopt ? undefined : await liveSubject(client, next);
  const findings = live ? adoptionFindings(live, next) : describeSchemaChange(previous, next);
  const basis = previous ?? live?.spec;
  const unchanged =
    basis !== undefined &&
    basis.format === next.format &&
    sameSchema(next.format, basis.schema, next.schema) &&
    JSON.stringify(basis.references) === JSON.stringify(next.references);
  if (unchanged || next.compatibility === "NONE") return { findings };
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
    return { violations: incompatibilityViolations(answer, next, basis, level), findings };
  } catch (error) {
    if (isNotFound(error)) return { findings };
    throw error;
  }
}

interface LiveSubject {
  version: number;
  id: number;
  /** The subject as the registry has it, in the terms of the spec being adopted onto it. */
  spec: ResolvedSchemaSpec;
}

/** The subject's latest live version and level, or undefined when it has none. */
async function liveSubject(client: RegistryClient, next: ResolvedSchemaSpec): Promise<LiveSubject | undefined> {
  try {
    const latest = await client.latest(next.subject);
    const level = await client.compatibilityLevel(next.subject);
    return {
      version: latest.version,
      id: latest.id,
      spec: {
        ...next,
        format: (latest.schemaType ?? "AVRO") as ResolvedSchemaSpec["format"],
        schema: latest.schema,
        references: latest.references ?? [],
        compatibility: level as ResolvedSchemaSpec["compatibility"],
      },
    };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** What adopting the subject changes in the registry, exactly: nothing, or each difference from what it has. */
function adoptionFindings(live: LiveSubject, next: ResolvedSchemaSpec): string[] {
  const differences = describeSchemaChange(live.spec, next);
  const found = `subject "${next.subject}" exists at version ${live.version} (schema id ${live.id})`;
  if (differences.length === 0) return [`${found}; adopting it changes nothing in the registry`];
  const newVersion =
    live.spec.format !== next.format ||
    !sameSchema(next.format, live.spec.schema, next.schema) ||
    JSON.stringify(live.spec.references) !== JSON.stringify(next.references);
  return [
    `${found}; adopting it changes in the registry:`,
    ...(newVersion ? [`version ${live.version + 1} is registered with the declared schema`] : []),
    ...differences,
  ];
}
