import type { Violation } from "@plinth/core";
import { type ClusterSettings, type KafkaSettings, unknownClusterViolation } from "./cluster-settings.ts";
import { internalPrefix } from "./user-acls.ts";
import type { ResourceScope, UserSpec } from "./user-spec.ts";

/** SCRAM user names Plinth creates: what is safe in a principal, a log line and a SCRAM message unescaped. */
const userNamePattern = /^[a-zA-Z0-9._-]{1,64}$/;
/** A topic or group prefix: Kafka's topic-name characters. */
const prefixPattern = /^[a-zA-Z0-9._-]+$/;

function nameViolations(name: string, cluster: ClusterSettings | undefined): Violation[] {
  if (!userNamePattern.test(name)) {
    return [
      {
        field: "name",
        reason: "INVALID_USER_NAME",
        description: "a user name has 1 to 64 characters among ASCII letters, digits, '.', '_' and '-'",
      },
    ];
  }
  if (name === "ANONYMOUS" || name === cluster?.sasl?.username) {
    return [
      {
        field: "name",
        reason: "RESERVED_USER_NAME",
        description:
          name === "ANONYMOUS"
            ? "ANONYMOUS is Kafka's principal for unauthenticated connections"
            : `"${name}" is the user Plinth itself connects as: changing it would lock Plinth out of the cluster`,
      },
    ];
  }
  return [];
}

function scopeViolations(field: string, scope: ResourceScope | undefined): Violation[] {
  if (scope === undefined || scope === "all" || prefixPattern.test(scope.prefix)) return [];
  return [
    {
      field: `${field}.prefix`,
      reason: "INVALID_PREFIX",
      description: "a prefix may only contain ASCII letters, digits, '.', '_' and '-' (the characters of topic names)",
    },
  ];
}

/**
 * Grants on Kafka's internal names, refused to everyone, admins included: no
 * team owns them, and reading `__consumer_offsets` or writing
 * `__transaction_state` reaches every team's consumers and producers at once.
 * Not a guardrail (no override), and a grant on `all` is kept out of them by a
 * DENY. Judged on what a change adds, so a grant made before this rule does
 * not block the change (or the revocation) that narrows the user otherwise.
 */
function internalNameViolations(next: UserSpec, previous: UserSpec | undefined): Violation[] {
  const before = new Set([
    ...(previous?.access.map((grant) => scopeKey(grant.topics)) ?? []),
    ...(previous?.consumerGroups ? [`group:${scopeKey(previous.consumerGroups)}`] : []),
  ]);
  const scopes: [string, ResourceScope | undefined, string][] = [
    ...next.access.map((grant, index): [string, ResourceScope, string] => [
      `access.${index}.topics`,
      grant.topics,
      scopeKey(grant.topics),
    ]),
    ["consumerGroups", next.consumerGroups, next.consumerGroups ? `group:${scopeKey(next.consumerGroups)}` : ""],
  ];
  return scopes
    .filter(
      ([, scope, key]) =>
        scope !== undefined && scope !== "all" && scope.prefix.startsWith(internalPrefix) && !before.has(key),
    )
    .map(([field]) => ({
      field: `${field}.prefix`,
      reason: "INTERNAL_NAMES",
      description:
        `names starting with "${internalPrefix}" are Kafka's and its tools' own (__consumer_offsets, ` +
        "__transaction_state, Connect and Streams internals): no team owns them and no grant reaches them, " +
        "not even an admin's",
    }));
}

const scopeKey = (scope: ResourceScope) => (scope === "all" ? "all" : `prefix:${scope.prefix}`);

/**
 * The cluster's guardrails for users; they judge what changes, so a grant
 * the user already had stays. Reasons start with "GUARDRAIL_" (an admin may
 * override them; the change then needs a reviewer). Pure.
 */
export function userGuardrailViolations(
  next: UserSpec,
  previous: UserSpec | undefined,
  cluster: ClusterSettings,
): Violation[] {
  const limits = cluster.guardrails;
  const before = new Set([
    ...(previous?.access.map((grant) => scopeKey(grant.topics)) ?? []),
    ...(previous?.consumerGroups ? [`group:${scopeKey(previous.consumerGroups)}`] : []),
  ]);
  const scopes: [string, ResourceScope, string][] = next.access.map((grant, index) => [
    `access.${index}.topics`,
    grant.topics,
    scopeKey(grant.topics),
  ]);
  if (next.consumerGroups) {
    scopes.push(["consumerGroups", next.consumerGroups, `group:${scopeKey(next.consumerGroups)}`]);
  }
  const violations: Violation[] = [];
  for (const [field, scope, key] of scopes) {
    if (before.has(key)) continue;
    if (scope === "all" && !limits.allowAllTopicsGrants) {
      violations.push({
        field,
        reason: "GUARDRAIL_ALL_TOPICS",
        description: `cluster "${next.cluster}" allows grants on a prefix only (allowAllTopicsGrants: false)`,
        overridable: true,
      });
    }
    if (scope !== "all" && scope.prefix.length < limits.minGrantPrefixLength) {
      violations.push({
        field: `${field}.prefix`,
        reason: "GUARDRAIL_PREFIX_LENGTH",
        description: `a prefix has at least ${limits.minGrantPrefixLength} characters on cluster "${next.cluster}": a shorter one covers too much to be deliberate`,
        overridable: true,
      });
    }
  }
  return violations;
}

/**
 * Checks a transition of user `name` from `previous` (undefined on create)
 * to `next`: the name, the cluster, the grants, the rotation counter, then
 * the cluster's guardrails. Every violation names its field. Pure.
 */
export function validateUser(
  name: string,
  next: UserSpec,
  previous: UserSpec | undefined,
  settings: KafkaSettings,
): Violation[] {
  const cluster = settings.clusters[next.cluster];
  const violations = nameViolations(name, cluster);
  if (previous && previous.cluster !== next.cluster) {
    violations.push({
      field: "cluster",
      reason: "CLUSTER_CHANGE",
      description: `a user cannot move from cluster "${previous.cluster}" to "${next.cluster}": create one on "${next.cluster}", move the clients, then delete this one`,
    });
  }
  if (!cluster) {
    violations.push(unknownClusterViolation(settings, next.cluster));
  }
  if (!previous && next.access.length === 0) {
    violations.push({
      field: "access",
      reason: "NO_ACCESS",
      description: "a new user needs at least one grant (only revoking every grant of an existing user leaves none)",
    });
  }
  const seen = new Map<string, number>();
  next.access.forEach((grant, index) => {
    violations.push(...scopeViolations(`access.${index}.topics`, grant.topics));
    const key = scopeKey(grant.topics);
    const first = seen.get(key);
    if (first === undefined) seen.set(key, index);
    else {
      violations.push({
        field: `access.${index}.topics`,
        reason: "DUPLICATE_GRANT",
        description: `access.${first} already covers the same topics: merge them into one grant (operations: read-write)`,
      });
    }
  });
  violations.push(...scopeViolations("consumerGroups", next.consumerGroups));
  violations.push(...internalNameViolations(next, previous));
  if (previous && next.rotation < previous.rotation) {
    violations.push({
      field: "rotation",
      reason: "ROTATION_DECREASE",
      description: `rotation only goes up (${previous.rotation} → ${next.rotation} refused): set ${previous.rotation + 1} to rotate the password, or ${previous.rotation} to keep it`,
      transition: true,
    });
  }
  if (cluster) {
    violations.push(...userGuardrailViolations(next, previous, cluster));
  }
  return violations;
}
