import type { OwnedResource, Reach, ResourceLookup, Violation } from "../plugin/define-plugin.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import type { ChangeRecord, Page } from "../store/records.ts";
import type { StoreReader, StoreTx } from "../store/store.ts";
import { allReaches, createResourceLookup } from "./ownership.ts";
import type { ChangeStatus, JsonObject } from "./types.ts";

/** The resource a create (or an ownership transfer) is about to give a team. */
export interface ExposureSubject {
  type: string;
  name: string;
  /** The team that will own it. */
  team: string;
  spec: JsonObject;
  /** On a transfer, the team that owns it until then; undefined on a create. */
  previousTeam?: string;
}

/**
 * A grant is approved by the teams it reaches when it is asked for; a
 * resource that appears under it later (a topic named into another team's
 * granted prefix) would be reached without its team ever being asked. So
 * before a team gets a resource, core asks every plugin's `reaches` what
 * each other team's resource reaches with and without it: a reach into the
 * new owner that only exists with it is a grant that team never approved.
 * Pending changes count as well, so a grant waiting for review cannot be
 * approved over a resource created meanwhile. Each is an overridable
 * violation on the name: a requester chooses another name (or has the grant
 * narrowed or revoked first); an admin's override goes to a reviewer and
 * the audit log.
 */
export async function grantExposureViolations(
  plugins: LoadedPlugin[],
  reader: StoreReader,
  subject: ExposureSubject,
): Promise<Violation[]> {
  const reachers = plugins.filter((plugin) => plugin.definition.reaches);
  if (reachers.length === 0) return [];
  const shared = memoized(createResourceLookup(reader));
  const isSubject = (type: string, resource: OwnedResource) => type === subject.type && resource.name === subject.name;
  const as = (team: string): OwnedResource => ({ name: subject.name, ownerTeam: team, spec: subject.spec });
  const before: ResourceLookup = {
    list: async (type) => [
      ...(await shared.list(type)).filter((resource) => !isSubject(type, resource)),
      ...(type === subject.type && subject.previousTeam ? [as(subject.previousTeam)] : []),
    ],
  };
  const after: ResourceLookup = {
    list: async (type) => [
      ...(await shared.list(type)).filter((resource) => !isSubject(type, resource)),
      ...(type === subject.type ? [as(subject.team)] : []),
    ],
  };
  const alone: ResourceLookup = { list: async (type) => (type === subject.type ? [as(subject.team)] : []) };
  // Teams the new resource itself asks to reach. An overlap that runs both ways (a user claiming consumer groups
  // under another team's prefix) is in that access request, which the other team approves: both sides consented.
  const subjectPlugin = reachers.find((plugin) => plugin.definition.type === subject.type);
  const asked = new Set(
    subjectPlugin
      ? (await allReaches(subjectPlugin, subject.name, subject.spec, after)).map((reach) => reach.ownerTeam)
      : [],
  );
  const violations: Violation[] = [];
  const reported = new Set<string>();
  for (const plugin of reachers) {
    const type = plugin.definition.type;
    for (const holder of await heldSpecs(reader, type)) {
      // A team's own grants reach its own resources without asking anyone.
      if (holder.ownerTeam === subject.team || asked.has(holder.ownerTeam)) continue;
      if (type === subject.type && holder.name === subject.name) continue;
      // A lookup holding the new resource alone says cheaply whether it is reached at all (reaches grow with what
      // the lookup holds); only then is the whole cluster worth comparing, with and without it.
      const touched = (await allReaches(plugin, holder.name, holder.spec, alone)).some(
        (reach) => reach.ownerTeam === subject.team,
      );
      if (!touched) continue;
      const added = (await allReaches(plugin, holder.name, holder.spec, after)).filter(
        (reach) => reach.ownerTeam === subject.team,
      );
      if (added.length === 0) continue;
      const had = await allReaches(plugin, holder.name, holder.spec, before);
      for (const reach of added) {
        // Once per grant: an applied one and the same grant in a change still open are one thing to fix.
        const key = `${type}\n${holder.name}\n${reach.field}`;
        if (reported.has(key) || had.some((old) => old.field === reach.field && old.ownerTeam === subject.team)) {
          continue;
        }
        reported.add(key);
        const grantedFor = [...new Set(had.filter((old) => old.field === reach.field).map((old) => old.ownerTeam))];
        violations.push(exposure(subject, { type, ...holder }, reach, grantedFor));
      }
    }
  }
  return violations;
}

/**
 * Under a store whose transactions may run side by side (PostgreSQL), a grant
 * and a resource it would reach, submitted at once, could each miss the
 * other: the grant's reaches are read before the resource is there, and the
 * resource's exposure before the grant is. So every submission takes one
 * lock before it reads either: exclusive for a type with `reaches` (it reads
 * what it reaches), shared for the others (they only appear under reaches),
 * which therefore never wait for each other, only for a grant being
 * submitted. Taken after the resource's own lock and before a quota's, in
 * every transaction (the store's locking rules).
 */
export async function lockReaches(tx: StoreTx, plugins: LoadedPlugin[], plugin: LoadedPlugin): Promise<void> {
  if (!tx.lock || !plugins.some((candidate) => candidate.definition.reaches)) return;
  await tx.lock("reaches", plugin.definition.reaches ? "exclusive" : "shared");
}

/** A resource's spec as applied, and as each open change would leave it. */
interface HeldSpec {
  name: string;
  ownerTeam: string;
  spec: JsonObject;
  /** Set for the spec of a change not applied yet. */
  pendingChange?: string;
}

async function heldSpecs(reader: StoreReader, type: string): Promise<HeldSpec[]> {
  // One listing per open status rather than a query per resource: a submit pays this on every create.
  const open = new Map<string, ChangeRecord[]>();
  for (const status of openStatuses) {
    for (const change of await allPages((token) => reader.listChanges({ type, status }, 500, token))) {
      if (change.kind === "DELETE" || !change.resolvedSpec) continue;
      open.set(change.name, [...(open.get(change.name) ?? []), change]);
    }
  }
  const held: HeldSpec[] = [];
  for (const resource of await allPages((token) => reader.listResources({ type }, 500, token))) {
    if (resource.status === "DELETED") continue;
    const base = { name: resource.name, ownerTeam: resource.ownerTeam };
    if (resource.revision > 0 && resource.resolvedSpec) held.push({ ...base, spec: resource.resolvedSpec });
    for (const change of open.get(resource.name) ?? []) {
      held.push({ ...base, spec: change.resolvedSpec!, pendingChange: change.id });
    }
  }
  return held;
}

/** Every ChangeStatus not in finalChangeStatuses: a change that may still apply. */
const openStatuses: ChangeStatus[] = ["PENDING_REVIEW", "APPROVED", "QUEUED", "APPLYING"];

async function allPages<T>(page: (token: string) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let token = "";
  do {
    const next = await page(token);
    items.push(...next.items);
    token = next.nextPageToken;
  } while (token);
  return items;
}

/** One listing per type for the whole check: every holder's `reaches` reads the same resources. */
function memoized(lookup: ResourceLookup): ResourceLookup {
  const lists = new Map<string, Promise<OwnedResource[]>>();
  return {
    list(type) {
      let list = lists.get(type);
      if (!list) {
        list = lookup.list(type);
        lists.set(type, list);
      }
      return list;
    },
  };
}

function exposure(
  subject: ExposureSubject,
  holder: HeldSpec & { type: string },
  reach: Reach,
  grantedFor: (string | undefined)[],
): Violation {
  const owners = grantedFor.filter((team): team is string => team !== undefined && team !== holder.ownerTeam);
  const grant = holder.pendingChange
    ? `asks to ${reach.access} (${reach.field}) in change ${holder.pendingChange}, pending review`
    : `may ${reach.access} (${reach.field})` +
      (owners.length > 0 ? `, approved by ${owners.join(" and ")} for what ${owners.join(" and ")} own` : "");
  const move = subject.previousTeam
    ? `Handing ${subject.type} "${subject.name}" over to ${subject.team}`
    : `${subject.type} "${subject.name}" of team ${subject.team}`;
  const remedies = [
    subject.previousTeam ? "narrow or revoke that grant first" : "choose a name outside that grant",
    holder.pendingChange
      ? `ask ${holder.ownerTeam} to cancel or narrow that request`
      : `ask ${holder.ownerTeam} to narrow the grant` +
        (owners.length > 0
          ? `, or a reviewer of ${owners.join(" or ")} to revoke it ` +
            `(plinth grants revoke ${holder.type} ${holder.name} ${reach.field})`
          : ""),
  ];
  return {
    field: "name",
    reason: "UNDER_FOREIGN_GRANT",
    description:
      `${move} would fall under a grant ${subject.team} never approved: ${holder.type} "${holder.name}" of team ` +
      `${holder.ownerTeam} ${grant}, so it would reach what ${subject.team} owns without ${subject.team} being ` +
      `asked. Instead ${remedies.join(", or ")}; an admin may override this, with a reviewer`,
    transition: true,
    overridable: true,
  };
}
