import type { OwnedResource, Reach, ResourceLookup } from "@plinth/core";
import type { KafkaSettings } from "./cluster-settings.ts";
import { internalPrefix } from "./user-acls.ts";
import type { ResourceScope, UserGrant, UserSpec } from "./user-spec.ts";

const onCluster = (cluster: string) => (resource: OwnedResource) => resource.spec.cluster === cluster;

/** Two scopes share at least one possible name. */
function overlaps(a: ResourceScope, b: ResourceScope): boolean {
  if (a === "all" || b === "all") return true;
  return a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix);
}

const scopeWords = (what: string, scope: ResourceScope) =>
  scope === "all" ? `all ${what}` : `${what} ${scope.prefix}*`;

/** Why a grant on everything is an admin's to make, for the refusal of anyone else's. */
const allHint = (what: string) =>
  `A grant on all ${what} covers every team's, today's and those made later, so only an admin grants it ` +
  `(override_guardrails), with a reviewer, and each team owning one now is asked as well; Kafka's internal ` +
  `"${internalPrefix}" names stay out of it`;

const verbs: Record<UserGrant["operations"], string> = { read: "read", write: "write", "read-write": "read and write" };

/**
 * Who owns what a user's spec reaches on its cluster: the teams owning the
 * topics each grant covers, and the teams whose users claimed consumer
 * groups this user's groups overlap (a team claims a group prefix with its
 * user's `consumerGroups`, by default the user's own name, and a user's name
 * is its team's group prefix even without a claim). Core asks each team
 * other than the user's own to approve. A topic prefix no managed topic is
 * under, or a group prefix that neither starts with the user's name nor
 * meets anyone's claim, has no owner: it is reported without a team, and
 * core refuses it to requesters (unless the cluster allows unowned topic
 * prefixes). A grant on `all` topics or groups always has a reach without
 * an owner too: it covers whatever any team creates later, so only an admin
 * grants it (core's override, with a reviewer), and every team owning a topic
 * it covers now is asked as well. Reads only through `lookup`.
 */
export async function userReaches(
  name: string,
  spec: UserSpec,
  lookup: ResourceLookup,
  settings?: KafkaSettings,
): Promise<Reach[]> {
  const reaches: Reach[] = [];
  const topics = (await lookup.list("kafka.topic")).filter(onCluster(spec.cluster));
  // On a cluster the settings do not know, validate's UNKNOWN_CLUSTER says all there is to say.
  const unknownCluster = settings !== undefined && settings.clusters[spec.cluster] === undefined;
  const allowUnowned = settings?.clusters[spec.cluster]?.guardrails.allowUnownedPrefixGrants ?? unknownCluster;
  spec.access.forEach((grant, index) => {
    const field = `access.${index}.topics`;
    const access = `${verbs[grant.operations]} ${scopeWords("topics", grant.topics)}`;
    // `all` never covers Kafka's internal names: userAcls denies them.
    const covered = topics.filter((topic) =>
      grant.topics === "all" ? !topic.name.startsWith(internalPrefix) : topic.name.startsWith(grant.topics.prefix),
    );
    if (grant.topics === "all") reaches.push({ field, access, hint: allHint("topics") });
    // Internal names have a guardrail of their own.
    const prefix = grant.topics === "all" ? undefined : grant.topics.prefix;
    if (prefix !== undefined && !prefix.startsWith("__") && covered.length === 0 && !allowUnowned) {
      reaches.push({
        field,
        access,
        hint:
          `No managed topic on cluster "${spec.cluster}" starts with "${prefix}": create one there ` +
          `first, and the prefix is your team's (or an access request to the team that owns it)`,
      });
    }
    for (const team of new Set(covered.map((topic) => topic.ownerTeam))) {
      reaches.push({ field, ownerTeam: team, access });
    }
  });
  const groups = spec.consumerGroups;
  if (groups) {
    const users = (await lookup.list("kafka.user")).filter(
      (user) => user.name !== name && onCluster(spec.cluster)(user),
    );
    const claimants = users.filter((user) => {
      const claim = (user.spec as unknown as UserSpec).consumerGroups;
      return (claim !== undefined && overlaps(groups, claim)) || overlaps(groups, { prefix: user.name });
    });
    const access = `join ${scopeWords("consumer groups", groups)}`;
    const own = groups !== "all" && (groups.prefix.startsWith(name) || groups.prefix.startsWith(internalPrefix));
    if (groups === "all") reaches.push({ field: "consumerGroups", access, hint: allHint("consumer groups") });
    else if (claimants.length === 0 && !own && !unknownCluster) {
      reaches.push({
        field: "consumerGroups",
        access,
        hint: `Use consumer groups whose id starts with the user's name ("${name}"), which are its team's`,
      });
    }
    for (const team of new Set(claimants.map((user) => user.ownerTeam))) {
      reaches.push({ field: "consumerGroups", ownerTeam: team, access });
    }
  }
  return reaches;
}
