import type { OwnedResource, Reach, ResourceLookup, Violation } from "../plugin/define-plugin.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import type { AccessRequestRecord, ResourceRecord } from "../store/records.ts";
import type { StoreReader } from "../store/store.ts";
import { PermissionDeniedError, ResourceExhaustedError } from "./errors.ts";
import { PluginFault } from "./plugin-calls.ts";
import type { JsonObject, Principal } from "./types.ts";

/** The team a resolved spec names as owner, or undefined when the plugin has no owner field. */
export function specOwnerTeam(plugin: LoadedPlugin, spec: unknown): string | undefined {
  const ownerTeam = plugin.definition.ownerTeam;
  if (!ownerTeam) return undefined;
  let team: unknown;
  try {
    team = ownerTeam(spec);
  } catch (error) {
    throw new PluginFault(plugin.definition.type, "ownerTeam", error);
  }
  if (team === undefined) return undefined;
  if (typeof team !== "string" || team === "") {
    throw new PluginFault(plugin.definition.type, "ownerTeam", new Error("did not return a team name"));
  }
  return team;
}

/**
 * The owning team of a resource after this apply. The spec's owner is the
 * owning team, never a label: on a create a requester may only name its own
 * team (an admin names any); on an update a different team is an ownership
 * transfer, which `transferTo` reports for the receiving team to approve.
 */
export function decideOwner(
  plugin: LoadedPlugin,
  principal: Principal,
  resolvedSpec: JsonObject,
  current: string | undefined,
): { team: string; transferTo?: string } {
  const named = specOwnerTeam(plugin, resolvedSpec);
  if (current !== undefined) {
    return named === undefined || named === current ? { team: current } : { team: current, transferTo: named };
  }
  if (named === undefined) return { team: principal.team };
  if (named !== principal.team && !principal.roles.includes("admin")) {
    throw new PermissionDeniedError(
      `spec.owner.team is "${named}" but ${principal.id} is in team ${principal.team}: a requester creates ` +
        `resources for its own team only (an admin may create one for another team)`,
    );
  }
  return { team: named };
}

/** Resources of a type as the lookup shows them: live ones, with the spec they have or are getting. */
export function createResourceLookup(reader: StoreReader): ResourceLookup {
  return {
    async list(type: string): Promise<OwnedResource[]> {
      const owned: OwnedResource[] = [];
      let pageToken = "";
      do {
        const page = await reader.listResources({ type }, 500, pageToken);
        for (const resource of page.items) {
          const spec = await liveSpec(reader, resource);
          if (spec) owned.push({ name: resource.name, ownerTeam: resource.ownerTeam, spec });
        }
        pageToken = page.nextPageToken;
      } while (pageToken);
      return owned;
    },
  };
}

async function liveSpec(reader: StoreReader, resource: ResourceRecord): Promise<JsonObject | undefined> {
  if (resource.status === "DELETED") return undefined;
  if (resource.revision > 0 && resource.resolvedSpec && resource.status !== "PROVISIONING") {
    return resource.resolvedSpec;
  }
  const tip = await reader.latestLiveChange(resource.type, resource.name);
  if (tip && tip.kind !== "DELETE" && tip.resolvedSpec) return tip.resolvedSpec;
  return resource.resolvedSpec ?? undefined;
}

/** A reach into a team's property. */
export type OwnedReach = Reach & { ownerTeam: string };

/** Everything a spec reaches, owned or not, as the plugin reports it; empty when it declares no `reaches`. */
export async function allReaches(
  plugin: LoadedPlugin,
  name: string,
  spec: JsonObject | undefined,
  lookup: ResourceLookup,
): Promise<Reach[]> {
  const reaches = plugin.definition.reaches;
  if (!reaches || !spec) return [];
  let found: unknown;
  try {
    found = await reaches(name, spec, lookup, plugin.context);
  } catch (error) {
    // The host's lookup ran out of the call's read budget: the caller's limit, not the plugin's fault.
    if (error instanceof ResourceExhaustedError) throw error;
    throw new PluginFault(plugin.definition.type, "reaches", error);
  }
  if (!Array.isArray(found)) {
    throw new PluginFault(plugin.definition.type, "reaches", new Error("did not return a list"));
  }
  return found as Reach[];
}

/** The plugin's reaches into teams other than `ownTeam`; empty when the plugin declares none. */
export async function foreignReaches(
  plugin: LoadedPlugin,
  name: string,
  spec: JsonObject | undefined,
  ownTeam: string,
  lookup: ResourceLookup,
): Promise<OwnedReach[]> {
  return (await allReaches(plugin, name, spec, lookup)).filter(
    (reach): reach is OwnedReach => reach.ownerTeam !== undefined && reach.ownerTeam !== ownTeam,
  );
}

/**
 * What the next spec newly reaches that no team owns (a prefix no managed
 * topic is under yet), as overridable violations: a requester is refused,
 * since whoever later creates something there would be read without being
 * asked; an admin's override goes to a reviewer and the audit log. Reaches
 * the previous spec already had stay, like any guardrail.
 */
export async function unownedReachViolations(
  plugin: LoadedPlugin,
  lookup: ResourceLookup,
  input: { name: string; next: JsonObject; previous: JsonObject | undefined },
): Promise<Violation[]> {
  const unowned = (spec: JsonObject | undefined) =>
    allReaches(plugin, input.name, spec, lookup).then((reaches) =>
      reaches.filter((reach) => reach.ownerTeam === undefined),
    );
  const before = new Set((await unowned(input.previous)).map((reach) => reach.access));
  return (await unowned(input.next))
    .filter((reach) => !before.has(reach.access))
    .map((reach) => ({
      field: `spec.${reach.field}`,
      reason: "UNOWNED_REACH",
      description:
        `asks to ${reach.access}, which no team owns yet: granting it would let this resource reach whatever ` +
        `any team puts there later, without that team being asked` +
        (reach.hint ? `. ${reach.hint}` : "") +
        ` (an admin may override this, with a reviewer)`,
      overridable: true,
    }));
}

/**
 * What the next spec newly reaches that the plugin marks `ownersOnly` and
 * another team owns (a schema subject on another team's topic), as
 * overridable violations: a requester is refused; an admin's override goes
 * to a reviewer, and the owning team approves it as an access request.
 */
export async function ownersOnlyReachViolations(
  plugin: LoadedPlugin,
  lookup: ResourceLookup,
  input: { name: string; team: string; next: JsonObject; previous: JsonObject | undefined },
): Promise<Violation[]> {
  const foreign = (spec: JsonObject | undefined) =>
    foreignReaches(plugin, input.name, spec, input.team, lookup).then((reaches) =>
      reaches.filter((reach) => reach.ownersOnly === true),
    );
  const before = new Set((await foreign(input.previous)).map(reachKey));
  return (await foreign(input.next))
    .filter((reach) => !before.has(reachKey(reach)))
    .map((reach) => ({
      field: `spec.${reach.field}`,
      reason: "OWNERS_ONLY_REACH",
      description:
        `asks to ${reach.access}, which only team ${reach.ownerTeam} (its owner) may do, not team ${input.team}` +
        (reach.hint ? `. ${reach.hint}` : "") +
        ` (an admin may override this, with a reviewer of ${reach.ownerTeam})`,
      overridable: true,
    }));
}

const reachKey = (reach: { ownerTeam: string; access: string }) => `${reach.ownerTeam}\n${reach.access}`;

/**
 * What an apply newly asks of other teams: reaches of the next spec that the
 * previous one did not have (a grant approved once is not asked again, unless
 * the resource moves to another team), and the transfer of the resource itself.
 */
export async function accessRequestsOf(
  plugin: LoadedPlugin,
  lookup: ResourceLookup,
  input: {
    name: string;
    ownTeam: string;
    next: JsonObject;
    previous: JsonObject | undefined;
    transferTo: string | undefined;
  },
): Promise<AccessRequestRecord[]> {
  // After a transfer the reaches are judged against the receiving team, and every one is asked again:
  // consent given to the giving team does not move to another.
  const team = input.transferTo ?? input.ownTeam;
  const before = new Set(
    input.transferTo
      ? []
      : (await foreignReaches(plugin, input.name, input.previous, input.ownTeam, lookup)).map(reachKey),
  );
  const requests: AccessRequestRecord[] = [];
  const seen = new Set<string>();
  for (const reach of await foreignReaches(plugin, input.name, input.next, team, lookup)) {
    const key = reachKey(reach);
    if (before.has(key) || seen.has(key)) continue;
    seen.add(key);
    requests.push({ ...reach, requesterTeam: team });
  }
  if (input.transferTo) {
    requests.unshift({
      field: transferField,
      ownerTeam: input.transferTo,
      requesterTeam: input.ownTeam,
      access: `hand ${plugin.definition.type} "${input.name}" over to ${input.transferTo}`,
    });
  }
  return requests;
}

/** The field of the access request that hands the resource itself to another team. */
const transferField = "owner.team";

/** The team an approved change hands the resource over to, if it is a transfer. */
export function transferTarget(change: { accessRequests: AccessRequestRecord[] }): string | undefined {
  return change.accessRequests.find((request) => request.field === transferField)?.ownerTeam;
}

/** "payments asks to read topics orders.*": an access request as its owner sees it. */
export const describeAccessRequest = (request: AccessRequestRecord) =>
  `${request.requesterTeam} asks to ${request.access} (owned by ${request.ownerTeam}): a reviewer of ${request.ownerTeam} must approve`;

/** Owning teams whose reviewer has not approved yet. */
export function teamsStillToApprove(
  requests: AccessRequestRecord[],
  reviews: { decision: string; team?: string }[],
): string[] {
  const approved = new Set(reviews.filter((r) => r.decision === "APPROVED").map((r) => r.team));
  return [...new Set(requests.map((request) => request.ownerTeam))].filter((team) => !approved.has(team)).sort();
}

/** The plugin's `dependents` of a resource, in words; empty when it has none or the hook fails (logged). */
export async function dependentsOf(
  plugin: LoadedPlugin,
  name: string,
  spec: JsonObject | null | undefined,
  lookup: ResourceLookup,
): Promise<string[]> {
  const dependents = plugin.definition.dependents;
  if (!dependents || !spec) return [];
  try {
    const found: unknown = await dependents(name, spec, lookup, plugin.context);
    if (Array.isArray(found) && found.every((item) => typeof item === "string")) return found;
    throw new Error("did not return a list of strings");
  } catch (error) {
    plugin.context.logger.warn({ err: error, name, type: plugin.definition.type }, "dependents failed; none shown");
    return [];
  }
}
