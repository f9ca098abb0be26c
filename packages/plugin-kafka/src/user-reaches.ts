import type { OwnedResource, Reach, ResourceLookup } from "@plinth/core";
import type { ResourceScope, UserGrant, UserSpec } from "./user-spec.ts";

const onCluster = (cluster: string) => (resource: OwnedResource) => resource.spec.cluster === cluster;

/** Two scopes share at least one possible name. */
function overlaps(a: ResourceScope, b: ResourceScope): boolean {
  if (a === "all" || b === "all") return true;
  return a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix);
}

const scopeWords = (what: string, scope: ResourceScope) =>
  scope === "all" ? `all ${what}` : `${what} ${scope.prefix}*`;

const verbs: Record<UserGrant["operations"], string> = { read: "read", write: "write", "read-write": "read and write" };

/**
 * Who owns what a user's spec reaches on its cluster: the teams owning the
 * topics each grant covers, and the teams whose users claimed consumer
 * groups this user's groups overlap (a team claims a group prefix with its
 * user's `consumerGroups`, by default the user's own name). Core asks each
 * team other than the user's own to approve. Reads only through `lookup`.
 */
export async function userReaches(name: string, spec: UserSpec, lookup: ResourceLookup): Promise<Reach[]> {
  const reaches: Reach[] = [];
  const topics = (await lookup.list("kafka.topic")).filter(onCluster(spec.cluster));
  spec.access.forEach((grant, index) => {
    const covered = topics.filter((topic) => grant.topics === "all" || topic.name.startsWith(grant.topics.prefix));
    for (const team of new Set(covered.map((topic) => topic.ownerTeam))) {
      reaches.push({
        field: `access.${index}.topics`,
        ownerTeam: team,
        access: `${verbs[grant.operations]} ${scopeWords("topics", grant.topics)}`,
      });
    }
  });
  const groups = spec.consumerGroups;
  if (groups) {
    const users = (await lookup.list("kafka.user")).filter(
      (user) => user.name !== name && onCluster(spec.cluster)(user),
    );
    const claimants = users.filter((user) => {
      const claim = (user.spec as unknown as UserSpec).consumerGroups;
      return claim !== undefined && overlaps(groups, claim);
    });
    for (const team of new Set(claimants.map((user) => user.ownerTeam))) {
      reaches.push({
        field: "consumerGroups",
        ownerTeam: team,
        access: `join ${scopeWords("consumer groups", groups)}`,
      });
    }
  }
  return reaches;
}
