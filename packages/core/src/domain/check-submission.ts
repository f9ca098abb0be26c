import type { Violation } from "../plugin/define-plugin.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import { FailedPreconditionError, InvalidArgumentError } from "./errors.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { applyDefaults, specViolations, validateTransition } from "./plugin-calls.ts";
import { checkCommonFields, desiredState } from "./submit-checks.ts";
import type { JsonObject } from "./types.ts";

/**
 * Every check of an apply that needs nothing but the request, the plugin and
 * the store: the common fields, the schema, and the plugin's `validate`
 * against the desired state. Runs before anything that talks to a real
 * system (the unmanaged-twin check), so bad input is always INVALID_ARGUMENT,
 * never a retryable UNAVAILABLE, and comes back all at once: a bad name does
 * not hide a bad spec, nor a bad spec an unknown cluster.
 *
 * `planApply` runs the same checks again inside the transaction; this pass
 * only decides what the caller hears first.
 */
export async function checkApplyInput(
  deps: LifecycleDeps,
  input: {
    type: string;
    name: string;
    requestId?: string;
    spec: JsonObject;
    comment?: string;
    labels?: Record<string, string>;
  },
  more: Violation[] = [],
): Promise<LoadedPlugin> {
  let common: Violation[] = [];
  try {
    checkCommonFields(
      deps,
      input.type,
      input.name,
      input.requestId,
      { comment: input.comment, labels: input.labels, spec: input.spec },
      more,
    );
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    common = error.violations;
  }
  const plugin = deps.plugins.get(input.type);
  const own = plugin ? await pluginViolations(deps, plugin, input.name, input.spec) : [];
  // A plugin that judges names says what its target allows (e.g. Kafka's 249 characters): that replaces the generic rule.
  const pluginJudgedName = own.some((violation) => violation.field === "name");
  const violations = [...common.filter((v) => !(pluginJudgedName && v.field === "name")), ...own];
  if (violations.length === 0 && plugin) return plugin;
  if (violations.length > 0 && violations.every((violation) => violation.transition)) {
    throw new FailedPreconditionError(violations.map((v) => `${v.field}: ${v.description}`).join("; "), violations);
  }
  // Guardrails an admin may override are judged in the transaction, where the override is.
  const hard = violations.filter((violation) => !violation.overridable);
  if (hard.length === 0 && plugin) return plugin;
  throw new InvalidArgumentError(violations);
}

async function pluginViolations(
  deps: LifecycleDeps,
  plugin: LoadedPlugin,
  name: string,
  spec: JsonObject,
): Promise<Violation[]> {
  const parsed = specViolations(plugin, spec);
  if (!parsed.violations) return await validated(deps, plugin, name, parsed.data);
  // The plugin's own rules (name, cluster, ...) still speak about the fields the schema accepted: judge the spec
  // without the refused fields when it parses so (they were optional), and keep what is said about the others.
  const refused = parsed.violations.map((violation) => violation.field);
  const rest = specViolations(plugin, without(spec, refused));
  if (rest.violations) return parsed.violations;
  const touchesRefused = (field: string) =>
    refused.some((path) => path === field || path.startsWith(`${field}.`) || field.startsWith(`${path}.`));
  const more = (await validated(deps, plugin, name, rest.data)).filter((violation) => !touchesRefused(violation.field));
  return [...parsed.violations, ...more];
}

async function validated(deps: LifecycleDeps, plugin: LoadedPlugin, name: string, spec: unknown) {
  const resolved = applyDefaults(plugin, name, spec).spec;
  const state = await desiredState(deps.store, plugin.definition.type, name);
  return validateTransition(plugin, name, resolved, state.exists ? state.resolvedSpec : undefined);
}

/** A copy of `spec` without the values at the given request paths ("spec.partitions", "spec.config.x"). */
function without(spec: JsonObject, paths: string[]): JsonObject {
  const copy = structuredClone(spec);
  for (const path of paths) {
    const keys = path.split(".").slice(1);
    const last = keys.pop();
    let node: unknown = copy;
    for (const key of keys) node = (node as Record<string, unknown> | undefined)?.[key];
    if (last !== undefined && node && typeof node === "object") {
      if (Array.isArray(node)) node.splice(Number(last), 1);
      else delete (node as Record<string, unknown>)[last];
    }
  }
  return copy;
}
