import type { ChangeRecord } from "../store/records.ts";
import type { StoreReader } from "../store/store.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { createResourceLookup, foreignReaches } from "./ownership.ts";

/** One cross-team reach of an applied resource, and the approval it rests on. */
export interface AccessGrant {
  type: string;
  name: string;
  requesterTeam: string;
  ownerTeam: string;
  access: string;
  field: string;
  /** Reviewers of `ownerTeam` who approved; empty when none did. */
  approvedBy: string[];
  changeId: string;
  since: string | null;
}

export interface AccessGrantFilter {
  type?: string;
  ownerTeam?: string;
  requesterTeam?: string;
}

async function resourceChanges(reader: StoreReader, type: string, name: string): Promise<ChangeRecord[]> {
  const changes: ChangeRecord[] = [];
  let pageToken = "";
  do {
    const page = await reader.listChanges({ type, name, status: "SUCCEEDED" }, 500, pageToken);
    changes.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return changes;
}

/**
 * ListAccessGrants: what applied resources reach that another team owns, as
 * the plugins see it now, each with the latest applied change whose access
 * request for it a reviewer of the owning team approved. Reads only.
 */
export async function listAccessGrants(deps: LifecycleDeps, filter: AccessGrantFilter): Promise<AccessGrant[]> {
  const lookup = createResourceLookup(deps.store);
  const grants: AccessGrant[] = [];
  for (const plugin of deps.plugins.list()) {
    const type = plugin.definition.type;
    if (!plugin.definition.reaches || (filter.type && filter.type !== type)) continue;
    let pageToken = "";
    do {
      const page = await deps.store.listResources(
        { type, ...(filter.requesterTeam ? { team: filter.requesterTeam } : {}) },
        500,
        pageToken,
      );
      pageToken = page.nextPageToken;
      for (const resource of page.items) {
        if (resource.status === "DELETED" || resource.revision === 0 || !resource.resolvedSpec) continue;
        const reaches = (
          await foreignReaches(plugin, resource.name, resource.resolvedSpec, resource.ownerTeam, lookup)
        ).filter((reach) => !filter.ownerTeam || reach.ownerTeam === filter.ownerTeam);
        if (reaches.length === 0) continue;
        const history = (await resourceChanges(deps.store, type, resource.name)).reverse();
        for (const reach of reaches) {
          const approving = history.find((change) =>
            change.accessRequests.some((r) => r.ownerTeam === reach.ownerTeam && r.access === reach.access),
          );
          grants.push({
            type,
            name: resource.name,
            requesterTeam: resource.ownerTeam,
            ownerTeam: reach.ownerTeam,
            access: reach.access,
            field: reach.field,
            approvedBy: (approving?.reviews ?? [])
              .filter((review) => review.decision === "APPROVED" && review.team === reach.ownerTeam)
              .map((review) => review.reviewer),
            changeId: approving?.id ?? "",
            since: approving?.finishedAt ?? null,
          });
        }
      }
    } while (pageToken);
  }
  return grants;
}
