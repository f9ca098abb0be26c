import type { VerifyInput, VerifyResult } from "@plinth/core";
import { canonicalSchema } from "./schema-changes.ts";
import { isNotFound, registryClient } from "./schema-registry-client.ts";
import type { SchemaSettings } from "./schema-settings.ts";
import { type SchemaSpec, resolveSchemaDefaults } from "./schema-spec.ts";

/** Problems between the subject in the registry and the spec, in words; empty = as declared. */
export async function schemaProblems(spec: SchemaSpec, settings: SchemaSettings): Promise<string[] | undefined> {
  const resolved = resolveSchemaDefaults(spec).spec;
  const registry = settings.registries[resolved.cluster];
  if (!registry) return [`no schema registry is configured for cluster "${resolved.cluster}"`];
  const client = registryClient(registry.url);
  let latest;
  try {
    latest = await client.latest(resolved.subject);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  const problems: string[] = [];
  const format = latest.schemaType ?? "AVRO";
  if (format !== resolved.format) problems.push(`format is ${format}, not ${resolved.format}`);
  if (canonicalSchema(format, latest.schema) !== canonicalSchema(resolved.format, resolved.schema)) {
    problems.push(`the latest version (${latest.version}) is not the declared schema`);
  }
  if (JSON.stringify(latest.references ?? []) !== JSON.stringify(resolved.references)) {
    problems.push("the latest version's references are not the declared ones");
  }
  const level = await client.compatibilityLevel(resolved.subject);
  if (level !== resolved.compatibility) problems.push(`compatibility is ${level}, not ${resolved.compatibility}`);
  return problems;
}

/** The subject's latest version is the declared schema, with the declared level, read back from the registry. */
export async function verifySchema({ spec, settings }: VerifyInput<SchemaSpec, SchemaSettings>): Promise<VerifyResult> {
  const subject = resolveSchemaDefaults(spec).spec.subject;
  try {
    const problems = await schemaProblems(spec, settings);
    if (problems === undefined) return { ready: false, message: `subject "${subject}" has no live version` };
    return problems.length === 0
      ? { ready: true }
      : { ready: false, message: `subject "${subject}": ${problems.join("; ")}` };
  } catch (error) {
    return { ready: false, unknown: true, message: `cannot read subject "${subject}": ${(error as Error).message}` };
  }
}

/** Gone = no live version (soft-deleted or hard-deleted). */
export async function verifySchemaGone({
  spec,
  settings,
}: VerifyInput<SchemaSpec, SchemaSettings>): Promise<VerifyResult> {
  const resolved = resolveSchemaDefaults(spec).spec;
  const registry = settings.registries[resolved.cluster];
  if (!registry) return { ready: true };
  try {
    await registryClient(registry.url).latest(resolved.subject);
    return { ready: false, message: `subject "${resolved.subject}" still has a live version` };
  } catch (error) {
    if (isNotFound(error)) return { ready: true };
    return { ready: false, unknown: true, message: (error as Error).message };
  }
}

/** A subject with live versions that Plinth does not manage: refuse to register over it, unless the spec adopts it. */
export async function findUnmanagedSchema(spec: SchemaSpec, settings: SchemaSettings): Promise<string | undefined> {
  const resolved = resolveSchemaDefaults(spec).spec;
  const registry = settings.registries[resolved.cluster];
  if (!registry || resolved.adopt) return undefined;
  try {
    const versions = await registryClient(registry.url).versions(resolved.subject);
    if (versions.length === 0) return undefined;
    return (
      `subject "${resolved.subject}" already has versions ${versions.join(", ")} in the schema registry of cluster ` +
      `"${resolved.cluster}" and Plinth does not manage it: apply again with "adopt: true" to take it over as it is (the change, reviewed, ` +
      `says what would change), pick another subject, or delete it in the registry first`
    );
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
