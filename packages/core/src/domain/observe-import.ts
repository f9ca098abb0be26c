import type { InventoryItem } from "../plugin/define-plugin.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import type { ImportItemRecord, ImportSkipRecord } from "../store/records.ts";
import type { StoreReader } from "../store/store.ts";
import { type OwnerRule, ruleFor } from "./import-rules.ts";
import { PluginFault } from "./plugin-calls.ts";
import type { JsonObject } from "./types.ts";
import { zodViolations } from "./zod-violations.ts";

export interface ObservedImport {
  items: ImportItemRecord[];
  skipped: ImportSkipRecord[];
}

/** The identities of every resource of `type` Plinth holds (all but DELETED ones), read page by page. */
async function managedIdentities(reader: StoreReader, type: string): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  let token = "";
  do {
    const page = await reader.listResources({ type }, 1_000, token);
    for (const resource of page.items) if (resource.status !== "DELETED") held.set(resource.identity, resource.name);
    token = page.nextPageToken;
  } while (token);
  return held;
}

/**
 * What an import of `scope` would bring in, as the real system holds it now:
 * one `inventory` call, then per item (by name) the owner rule, the plugin's
 * `importSpec`, the spec's schema, defaults and transition rules, and the
 * bulk comparison, which must find the recorded spec exactly as observed.
 * Items Plinth already manages, or that no rule or check lets in, are
 * skipped with the reason. Reads only; no engine call.
 */
export async function observeImport(
  reader: StoreReader,
  plugin: LoadedPlugin,
  scope: string,
  rules: OwnerRule[],
): Promise<ObservedImport> {
  const definition = plugin.definition;
  const { inventory, importSpec, observeInBulk } = definition;
  if (!inventory || !importSpec || !observeInBulk) throw new Error(`plugin ${definition.type} cannot import`);
  let listed: InventoryItem[];
  try {
    listed = await inventory(scope, plugin.context);
  } catch (error) {
    throw new PluginFault(definition.type, "inventory", error);
  }
  const held = await managedIdentities(reader, definition.type);
  const items: ImportItemRecord[] = [];
  const skipped: ImportSkipRecord[] = [];
  for (const item of [...listed].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const skip = (reason: string) => skipped.push({ name: item.name, reason });
    const managedAs = held.get(item.identity);
    if (managedAs !== undefined) {
      skip(`already managed${managedAs === item.name ? "" : ` as "${managedAs}"`}: left as it is`);
      continue;
    }
    const rule = ruleFor(rules, item.name);
    if (!rule) {
      skip("no owner rule's prefix matches the name");
      continue;
    }
    const reason = importable(plugin, item, scope, rule);
    if (typeof reason === "string") skip(reason);
    else items.push({ name: item.name, identity: item.identity, ownerTeam: rule.team, ...reason });
  }
  return { items, skipped };
}

/** The specs to record for `item`, or why it cannot be imported. */
function importable(
  plugin: LoadedPlugin,
  item: InventoryItem,
  scope: string,
  rule: OwnerRule,
): { spec: JsonObject; resolvedSpec: JsonObject } | string {
  const definition = plugin.definition;
  const ctx = plugin.context;
  try {
    const imported = definition.importSpec!(item, scope, { team: rule.team, contact: rule.contact }, ctx);
    if (imported.refusal !== undefined) return imported.refusal;
    const parsed = definition.spec.safeParse(imported.spec);
    if (!parsed.success) {
      return `its observed spec is not valid: ${zodViolations(parsed.error, "spec")
        .map((v) => `${v.field}: ${v.description}`)
        .join("; ")}`;
    }
    const resolved = definition.defaults ? definition.defaults(item.name, parsed.data, ctx).spec : parsed.data;
    // As an update from itself: what it already is passes every guardrail; hard rules (e.g. the name) still hold.
    const violations = (definition.validate?.(item.name, resolved, resolved, ctx) ?? []).filter((v) => !v.overridable);
    if (violations.length > 0)
      return `not valid here: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`;
    const identity = definition.identity ? definition.identity(item.name, resolved, ctx) : item.name;
    if (identity !== item.identity) return `its spec's identity "${identity}" is not the listed one "${item.identity}"`;
    const owner = definition.ownerTeam?.(resolved);
    if (owner !== undefined && owner !== rule.team) return `its spec names team ${owner}, not the rule's ${rule.team}`;
    const differences = definition.observeInBulk!.differences(item, item.name, resolved, ctx);
    if (differences.length > 0) return `its recorded spec would not match what is observed: ${differences.join("; ")}`;
    return { spec: imported.spec, resolvedSpec: JSON.parse(JSON.stringify(resolved)) as JsonObject };
  } catch (error) {
    return `the plugin could not describe it: ${error instanceof Error ? error.message : String(error)}`;
  }
}
