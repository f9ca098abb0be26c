import type { PluginContext, PluginLogger } from "@plinth/core";
import type { AnyPlugin, JsonRecord } from "./types.ts";

const quiet: PluginLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The plugin's settings as core hands them over: parsed by its own schema. */
export function parseSettings(plugin: AnyPlugin, raw: JsonRecord): unknown {
  if (!plugin.settings) return raw;
  const parsed = plugin.settings.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${plugin.type}: settings.${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

export function contextOf(settings: unknown): PluginContext<unknown> {
  return { settings, logger: quiet };
}

/** JSON round trip, as core stores and compares specs. */
export const asJson = (value: unknown): JsonRecord => JSON.parse(JSON.stringify(value)) as JsonRecord;

/** Parse, then defaults: the resolved spec core would store and hand to the program. */
export function resolveSpec(plugin: AnyPlugin, name: string, spec: JsonRecord, settings: unknown): JsonRecord {
  const parsed = plugin.spec.safeParse(spec);
  if (!parsed.success) {
    throw new Error(`${plugin.type}: the spec does not parse: ${fieldsOf(parsed.error.issues).join(", ")}`);
  }
  if (!plugin.defaults) return asJson(parsed.data);
  return asJson(plugin.defaults(name, parsed.data, contextOf(settings)).spec);
}

interface IssueLike {
  path: readonly PropertyKey[];
  code: string;
  keys?: readonly string[];
}

/** Field paths of zod issues, named the way the API names them (an unknown key by its own path). */
export function fieldsOf(issues: readonly IssueLike[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys" && issue.keys?.[0] !== undefined) path.push(issue.keys[0]);
    return path.join(".");
  });
}

/**
 * Every field the service would name when refusing `spec` (relative to the
 * spec): the schema's issues, else the plugin's `validate` violations on the
 * defaulted spec, as the plugin wrote them. Empty when it would be accepted.
 */
export function refusedFields(
  plugin: AnyPlugin,
  name: string,
  spec: JsonRecord,
  previous: JsonRecord | undefined,
  settings: unknown,
): string[] {
  const parsed = plugin.spec.safeParse(spec);
  if (!parsed.success) return fieldsOf(parsed.error.issues);
  const ctx = contextOf(settings);
  const next: unknown = plugin.defaults ? asJson(plugin.defaults(name, parsed.data, ctx).spec) : parsed.data;
  const before = previous === undefined ? undefined : resolveSpec(plugin, name, previous, settings);
  const violations = plugin.validate?.(name, next, before, ctx) ?? [];
  return violations.map((violation) => violation.field);
}

/**
 * The one rule for a violation's `field`: the dotted path inside the spec
 * ("partitions", "config.retention.ms", "access.0.topics"), "" for the whole
 * spec, or "name" for the resource name. Core adds the "spec." clients see;
 * a plugin writing it itself gets a different path in its own tests.
 */
export const misnamedFields = (fields: string[]): string[] =>
  fields.filter((field) => field === "spec" || field.startsWith("spec.") || /^\.|\.$|\.\./.test(field));
