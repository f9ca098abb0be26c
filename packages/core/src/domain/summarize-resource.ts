import type { ResourceSummary } from "../plugin/define-plugin.ts";
import type { PluginRegistry } from "../plugin/registry.ts";
import type { Store } from "../store/store.ts";
import { NotFoundError } from "./errors.ts";

/** How long a plugin's summary may take before the page gets what is missing instead. */
export const summaryTimeoutMs = 10_000;

/**
 * A resource's summary from its plugin's optional `summarize` hook. Readable
 * by whoever may read the resource (the caller checks that). A plugin that
 * throws or takes too long does not fail the call: its summary is one
 * `missing` line saying so, since the page around it still has the spec.
 */
export async function summarizeResource(
  deps: { store: Store; plugins: PluginRegistry },
  type: string,
  name: string,
): Promise<Required<ResourceSummary>> {
  const resource = await deps.store.getResource(type, name);
  if (!resource) throw new NotFoundError(`${type} "${name}" does not exist`);
  const empty = { facts: [], series: [], missing: [] };
  const plugin = deps.plugins.get(type);
  const summarize = plugin?.definition.summarize;
  if (!plugin || !summarize) return empty;
  if (resource.status === "DELETED" || !resource.resolvedSpec) {
    return { ...empty, missing: [`nothing to read: ${type} "${name}" is ${resource.status.toLowerCase()}`] };
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${summaryTimeoutMs / 1000} s`)), summaryTimeoutMs);
  });
  try {
    const summary = await Promise.race([
      summarize({ name, spec: resource.resolvedSpec, outputs: resource.outputs, settings: plugin.context.settings }),
      timedOut,
    ]);
    return { facts: summary.facts ?? [], series: summary.series ?? [], missing: summary.missing ?? [] };
  } catch (error) {
    return { ...empty, missing: [`the ${type} plugin's summary failed: ${(error as Error).message}`] };
  } finally {
    clearTimeout(timer);
  }
}
