import { InvalidArgumentError, NotFoundError } from "./errors.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { PluginFault } from "./plugin-calls.ts";
import type { JsonObject } from "./types.ts";

export interface InventoryEntry {
  name: string;
  state: "MANAGED" | "UNMANAGED" | "DRIFTED";
  resourceName: string;
  observed: JsonObject;
  findings: string[];
}

/**
 * The real system's view of one plugin scope, joined with Plinth's records by
 * identity: what is managed, what is not (and could be adopted), what drifted.
 */
export async function listInventory(deps: LifecycleDeps, type: string, scope: string): Promise<InventoryEntry[]> {
  const plugin = deps.plugins.get(type);
  if (!plugin) throw new NotFoundError(`no plugin handles type "${type}"`);
  const inventory = plugin.definition.inventory;
  if (!inventory) throw new NotFoundError(`plugin ${type} cannot list what the real system holds (no inventory)`);
  const scopes = plugin.definition.inventoryScopes?.(plugin.context);
  if (!scope || (scopes && !scopes.includes(scope))) {
    const allowed = scopes ? `: one of ${scopes.join(", ")}` : "";
    throw new InvalidArgumentError([{ field: "scope", description: `is not a scope of ${type}${allowed}` }]);
  }
  let items;
  try {
    items = await inventory(scope, plugin.context);
  } catch (error) {
    if (error instanceof InvalidArgumentError || error instanceof NotFoundError) throw error;
    throw new PluginFault(type, "inventory", error);
  }
  const entries: InventoryEntry[] = [];
  for (const item of items) {
    const resource = await deps.store.findResourceByIdentity(type, item.identity);
    const state = !resource ? "UNMANAGED" : resource.status === "DRIFTED" ? "DRIFTED" : "MANAGED";
    entries.push({
      name: item.name,
      state,
      resourceName: resource?.name ?? "",
      observed: item.observed,
      findings: resource?.drift?.findings ?? [],
    });
  }
  return entries;
}
