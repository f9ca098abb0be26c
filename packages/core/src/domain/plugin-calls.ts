import type { Defaulted, Precheck, ReviewDecision, ReviewInput, Violation } from "../plugin/define-plugin.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import { InvalidArgumentError, UnavailableError } from "./errors.ts";
import type { JsonObject } from "./types.ts";
import { zodViolations } from "./zod-violations.ts";

/** A plugin's own code threw or returned something malformed: a server-side fault that names the plugin. */
export class PluginFault extends Error {
  override name = "PluginFault";
  constructor(
    readonly pluginType: string,
    readonly hook: string,
    cause: unknown,
  ) {
    super(`plugin ${pluginType} failed in ${hook}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

export function guarded<T>(plugin: LoadedPlugin, hook: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw new PluginFault(plugin.definition.type, hook, error);
  }
}

/** Parses a spec with the plugin's schema; bad fields become INVALID_ARGUMENT violations under "spec". */
export function parseSpec(plugin: LoadedPlugin, spec: JsonObject): unknown {
  const result = specViolations(plugin, spec);
  if (result.violations) throw new InvalidArgumentError(result.violations);
  return result.data;
}

/** The schema's verdict on a spec: the parsed spec, or every field it refuses. */
export function specViolations(
  plugin: LoadedPlugin,
  spec: JsonObject,
): { data: unknown; violations?: undefined } | { data?: undefined; violations: Violation[] } {
  const schema = plugin.definition.spec;
  const result = guarded(plugin, "spec", () => schema.safeParse(spec));
  return result.success ? { data: result.data } : { violations: zodViolations(result.error, "spec", schema) };
}

export function applyDefaults(plugin: LoadedPlugin, name: string, spec: unknown): Defaulted<JsonObject> {
  const defaults = plugin.definition.defaults;
  if (!defaults) return { spec: spec as JsonObject, explanations: {} };
  const result = guarded(plugin, "defaults", () => defaults(name, spec, plugin.context));
  if (!result || typeof result.spec !== "object" || result.spec === null) {
    throw new PluginFault(plugin.definition.type, "defaults", new Error("returned no spec"));
  }
  // Round-trip through JSON: what is stored and compared is exactly what a client would see.
  return { spec: JSON.parse(JSON.stringify(result.spec)) as JsonObject, explanations: result.explanations ?? {} };
}

/**
 * A plugin names fields inside its spec ("partitions") or the resource's
 * `name`; clients see request paths, the same as for schema errors
 * ("spec.partitions"), whichever style the plugin wrote.
 */
function asRequestPaths(violations: Violation[]): Violation[] {
  return violations.map((violation) => {
    const field = violation.field;
    if (field === "name" || field === "spec" || field.startsWith("spec.")) return violation;
    return { ...violation, field: field === "" ? "spec" : `spec.${field}` };
  });
}

export function validateTransition(plugin: LoadedPlugin, name: string, next: unknown, previous: unknown): Violation[] {
  const validate = plugin.definition.validate;
  if (!validate) return [];
  const violations = guarded(plugin, "validate", () => validate(name, next, previous, plugin.context));
  if (!Array.isArray(violations)) {
    throw new PluginFault(plugin.definition.type, "validate", new Error("did not return a list of violations"));
  }
  return asRequestPaths(violations);
}

export function identityOf(plugin: LoadedPlugin, name: string, spec: unknown): string {
  const identity = plugin.definition.identity;
  if (!identity) return name;
  const key = guarded(plugin, "identity", () => identity(name, spec, plugin.context));
  if (typeof key !== "string" || key === "") {
    throw new PluginFault(plugin.definition.type, "identity", new Error("did not return a non-empty string"));
  }
  return key;
}

export function pluginReview(plugin: LoadedPlugin, input: ReviewInput<unknown>): ReviewDecision | undefined {
  const review = plugin.definition.review;
  if (!review) return undefined;
  const decision = guarded(plugin, "review", () => review(input, plugin.context));
  if (!decision || !Number.isInteger(decision.approvals) || decision.approvals < 0) {
    throw new PluginFault(plugin.definition.type, "review", new Error("did not return a whole number of approvals"));
  }
  return decision;
}

export function validateDeletion(plugin: LoadedPlugin, name: string, previous: unknown): Violation[] {
  const validate = plugin.definition.validateDelete;
  if (!validate) return [];
  const violations = guarded(plugin, "validateDelete", () => validate(name, previous, plugin.context));
  if (!Array.isArray(violations)) {
    throw new PluginFault(plugin.definition.type, "validateDelete", new Error("did not return a list of violations"));
  }
  return asRequestPaths(violations).map((violation) => ({ ...violation, transition: true }));
}

/**
 * The plugin's `findUnmanaged` observation, bounded in time. Fails closed: a
 * plugin that cannot answer (target unreachable or hung, bug) makes the
 * create UNAVAILABLE, never lets it go ahead, because creating over an
 * unmanaged twin takes it over (a topic's data, a user's password). Nothing
 * is recorded, so the client sends the same request again (the SDK does).
 */
export async function unmanagedConflict(
  plugin: LoadedPlugin,
  name: string,
  spec: unknown,
  timeoutMs: number,
): Promise<string | undefined> {
  const find = plugin.definition.findUnmanaged;
  if (!find) return undefined;
  const type = plugin.definition.type;
  const refusal = (why: string) =>
    new UnavailableError(
      `cannot check whether ${type} "${name}" already exists outside Plinth (${why}); nothing was recorded: send the same request again once the target answers`,
    );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(refusal(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(() => find(name, spec, plugin.context)), timeout]);
  } catch (error) {
    if (error instanceof UnavailableError) {
      plugin.context.logger.warn({ name, type }, "findUnmanaged did not answer in time; the create is refused");
      throw error;
    }
    plugin.context.logger.warn({ err: error, name, type }, "findUnmanaged failed; the create is refused");
    throw refusal(error instanceof Error ? error.message : String(error));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The plugin's `precheck` of a spec, bounded in time, with its violations'
 * fields as request paths. Fails closed like `unmanagedConflict`: a system
 * that cannot be asked makes the change UNAVAILABLE, with nothing recorded.
 */
export async function precheckOf(
  plugin: LoadedPlugin,
  name: string,
  next: unknown,
  previous: unknown,
  timeoutMs: number,
): Promise<Precheck> {
  const precheck = plugin.definition.precheck;
  if (!precheck) return {};
  const type = plugin.definition.type;
  const refusal = (why: string) =>
    new UnavailableError(
      `cannot check ${type} "${name}" with the system it lives on (${why}); nothing was recorded: send the same request again once it answers`,
    );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(refusal(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  let result: Precheck;
  try {
    result = await Promise.race([
      Promise.resolve().then(() => precheck(name, next, previous, plugin.context)),
      timeout,
    ]);
  } catch (error) {
    if (error instanceof UnavailableError) throw error;
    plugin.context.logger.warn({ err: error, name, type }, "precheck failed; the change is refused");
    throw refusal(error instanceof Error ? error.message : String(error));
  } finally {
    clearTimeout(timer);
  }
  const violations = result?.violations ?? [];
  const findings = result?.findings ?? [];
  if (!Array.isArray(violations) || !Array.isArray(findings)) {
    throw new PluginFault(type, "precheck", new Error("did not return { violations?: [], findings?: [] }"));
  }
  return { violations: asRequestPaths(violations), findings };
}
