import type { OwnedResource, ResourceLookup, Usage } from "../plugin/define-plugin.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import type { StoreReader } from "../store/store.ts";
import { ResourceExhaustedError } from "./errors.ts";
import { PluginFault } from "./plugin-calls.ts";
import type { JsonObject } from "./types.ts";

/** A team's use of one metric in one scope, against its limit (undefined = unlimited). */
export interface TeamUsage {
  type: string;
  scope: string;
  metric: string;
  used: number;
  limit: number | undefined;
}

function usageOf(plugin: LoadedPlugin, name: string, spec: unknown): Usage | undefined {
  const usage = plugin.definition.usage;
  if (!usage) return undefined;
  try {
    return usage(name, spec, plugin.context);
  } catch (error) {
    throw new PluginFault(plugin.definition.type, "usage", error);
  }
}

function limitsOf(plugin: LoadedPlugin, scope: string, team: string): Record<string, number> {
  const quota = plugin.definition.quota;
  if (!quota) return {};
  try {
    return quota(scope, team, plugin.context);
  } catch (error) {
    throw new PluginFault(plugin.definition.type, "quota", error);
  }
}

const add = (into: Map<string, Map<string, number>>, usage: Usage) => {
  const metrics = into.get(usage.scope) ?? new Map<string, number>();
  for (const [metric, amount] of Object.entries(usage.amounts))
    metrics.set(metric, (metrics.get(metric) ?? 0) + amount);
  into.set(usage.scope, metrics);
};

/**
 * A team's usage of one type, by scope and metric, over its live resources except `exclude`.
 * A resource the lookup lists more than once (its applied spec and its open changes') counts
 * the most any of them asks, once.
 */
async function sumUsage(
  plugin: LoadedPlugin,
  lookup: ResourceLookup,
  team: string,
  exclude?: string,
): Promise<Map<string, Map<string, number>>> {
  const largest = new Map<string, Usage>();
  for (const resource of await lookup.list(plugin.definition.type)) {
    if (resource.ownerTeam !== team || resource.name === exclude) continue;
    const usage = usageOf(plugin, resource.name, resource.spec);
    if (!usage) continue;
    const key = `${resource.name}\u0000${usage.scope}`;
    const seen = largest.get(key);
    if (!seen) {
      largest.set(key, { scope: usage.scope, amounts: { ...usage.amounts } });
      continue;
    }
    for (const [metric, amount] of Object.entries(usage.amounts)) {
      seen.amounts[metric] = Math.max(seen.amounts[metric] ?? 0, amount);
    }
  }
  const sums = new Map<string, Map<string, number>>();
  for (const usage of largest.values()) add(sums, usage);
  return sums;
}

const openStatuses = ["PENDING_REVIEW", "APPROVED", "QUEUED", "APPLYING"] as const;

/**
 * The lookup a quota check counts with: every open change's spec beside its
 * resource's applied one, so that increases to different resources submitted
 * back to back are counted together before either applies.
 */
export function withOpenChanges(reader: StoreReader, base: ResourceLookup): ResourceLookup {
  return {
    async list(type: string): Promise<OwnedResource[]> {
      const live = await base.list(type);
      const owners = new Map(live.map((resource) => [resource.name, resource.ownerTeam]));
      const pending: OwnedResource[] = [];
      for (const status of openStatuses) {
        let pageToken = "";
        do {
          const page = await reader.listChanges({ type, status }, 500, pageToken);
          for (const change of page.items) {
            const ownerTeam = owners.get(change.name);
            if (change.kind === "DELETE" || !change.resolvedSpec || ownerTeam === undefined) continue;
            pending.push({ name: change.name, ownerTeam, spec: change.resolvedSpec });
          }
          pageToken = page.nextPageToken;
        } while (pageToken);
      }
      return [...live, ...pending];
    },
  };
}

/**
 * Refuses an apply that takes the owning team over one of its quotas in the
 * resource's scope: RESOURCE_EXHAUSTED with the team's usage and limit.
 * A change that does not raise a metric passes even when the team is already
 * over (e.g. after the limit was lowered), so it can always shrink.
 */
export async function checkQuota(
  plugin: LoadedPlugin,
  lookup: ResourceLookup,
  input: { name: string; team: string; next: JsonObject; previous: JsonObject | undefined; previousTeam?: string },
  /** The transaction's `StoreTx.lock`, when the store has one. */
  lock?: (key: string) => Promise<void>,
): Promise<void> {
  const next = usageOf(plugin, input.name, input.next);
  if (!next) return;
  const limits = limitsOf(plugin, next.scope, input.team);
  if (Object.keys(limits).length === 0) return;
  // Two creates by one team that each fit alone must not both pass: checks of one team's quota take turns,
  // each summing what the one before it committed.
  await lock?.(JSON.stringify(["quota", plugin.definition.type, next.scope, input.team]));
  const others = (await sumUsage(plugin, lookup, input.team, input.name)).get(next.scope) ?? new Map();
  const before =
    input.previous && (input.previousTeam ?? input.team) === input.team
      ? usageOf(plugin, input.name, input.previous)
      : undefined;
  const over: string[] = [];
  for (const [metric, limit] of Object.entries(limits)) {
    const amount = next.amounts[metric] ?? 0;
    const had = before?.scope === next.scope ? (before.amounts[metric] ?? 0) : 0;
    const used = (others.get(metric) ?? 0) as number;
    if (used + amount > limit && amount > had) {
      over.push(`${metric}: would use ${used + amount} of ${limit} (uses ${used + had} now)`);
    }
  }
  if (over.length > 0) {
    throw new ResourceExhaustedError(
      `team ${input.team} is over its ${plugin.definition.type} quota on "${next.scope}": ${over.join("; ")}. ` +
        `Free some up, or ask the operators to raise the quota`,
    );
  }
}

/**
 * Refuses a set of new resources recorded at once (an import) that would take
 * any team over one of its quotas in any scope, as `checkQuota` refuses one
 * change: RESOURCE_EXHAUSTED naming every team, scope and metric over, so
 * nothing of the set is recorded. Each (team, scope) is checked once against
 * the sum of its share, not resource by resource.
 */
export async function checkQuotaOfMany(
  plugin: LoadedPlugin,
  lookup: ResourceLookup,
  items: readonly { name: string; team: string; spec: JsonObject }[],
  /** What is refused, for the message: "import 01J…". */
  what: string,
  /** The transaction's `StoreTx.lock`, when the store has one. */
  lock?: (key: string) => Promise<void>,
): Promise<void> {
  const added = new Map<string, { team: string; scope: string; amounts: Map<string, number> }>();
  for (const item of items) {
    const usage = usageOf(plugin, item.name, item.spec);
    if (!usage) continue;
    const key = JSON.stringify([usage.scope, item.team]);
    const share = added.get(key) ?? { team: item.team, scope: usage.scope, amounts: new Map<string, number>() };
    for (const [metric, amount] of Object.entries(usage.amounts)) {
      share.amounts.set(metric, (share.amounts.get(metric) ?? 0) + amount);
    }
    added.set(key, share);
  }
  const over: string[] = [];
  // Sorted, so that two sets that share teams take their locks in one order.
  for (const key of [...added.keys()].sort()) {
    const { team, scope, amounts } = added.get(key)!;
    const limits = limitsOf(plugin, scope, team);
    if (Object.keys(limits).length === 0) continue;
    await lock?.(JSON.stringify(["quota", plugin.definition.type, scope, team]));
    const used = (await sumUsage(plugin, lookup, team)).get(scope) ?? new Map<string, number>();
    for (const [metric, limit] of Object.entries(limits)) {
      const amount = amounts.get(metric) ?? 0;
      const now = used.get(metric) ?? 0;
      if (amount > 0 && now + amount > limit) {
        over.push(`team ${team} on "${scope}": ${metric} would use ${now + amount} of ${limit} (uses ${now} now)`);
      }
    }
  }
  if (over.length > 0) {
    throw new ResourceExhaustedError(
      `${what} would go over the ${plugin.definition.type} quota: ${over.join("; ")}. ` +
        `Narrow the owner rules, free some up, or ask the operators to raise the quota`,
    );
  }
}

/** GetTeamUsage: a team's usage against its quotas, for every plugin that counts usage. */
export async function teamUsage(plugins: LoadedPlugin[], lookup: ResourceLookup, team: string): Promise<TeamUsage[]> {
  const rows: TeamUsage[] = [];
  for (const plugin of plugins) {
    if (!plugin.definition.usage) continue;
    const sums = await sumUsage(plugin, lookup, team);
    for (const [scope, metrics] of [...sums.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const limits = limitsOf(plugin, scope, team);
      const names = new Set([...metrics.keys(), ...Object.keys(limits)]);
      for (const metric of [...names].sort()) {
        rows.push({
          type: plugin.definition.type,
          scope,
          metric,
          used: metrics.get(metric) ?? 0,
          limit: limits[metric],
        });
      }
    }
  }
  return rows;
}
