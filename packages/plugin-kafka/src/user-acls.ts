import type { ResourceScope, UserSpec } from "./user-spec.ts";

/**
 * One rule for the user from any host, in the Pulumi provider's words
 * (Kafka's own enum names are upper case): ALLOW, or DENY when `deny` is set.
 */
export interface UserAcl {
  resourceType: "Topic" | "Group";
  patternType: "Literal" | "Prefixed";
  /** "*" with `Literal` = every resource of the type. */
  resourceName: string;
  operation: "Read" | "Write";
  /** A DENY rule: Kafka's authorizer lets it win over every ALLOW. */
  deny?: true;
}

/** Kafka's principal for a SCRAM user. */
export const userPrincipal = (name: string) => `User:${name}`;

function pattern(scope: ResourceScope): Pick<UserAcl, "patternType" | "resourceName"> {
  return scope === "all"
    ? { patternType: "Literal", resourceName: "*" }
    : { patternType: "Prefixed", resourceName: scope.prefix };
}

/**
 * A stable key of one ACL: it names the Pulumi resource and compares rule
 * sets. Kafka compares resource names exactly, so the name stays as written
 * (a grant on "Team.X" is not the one on "team.x"); only the words around it
 * are lower case, which keeps the keys of lower-case names as they were.
 */
export const aclKey = (acl: UserAcl) =>
  `${acl.resourceType.toLowerCase()}-${acl.deny ? "deny-" : ""}${acl.patternType === "Literal" && acl.resourceName === "*" ? "all" : `prefix-${acl.resourceName}`}-${acl.operation.toLowerCase()}`;

/** Names starting with this are Kafka's and its tools' own (`__consumer_offsets`, `__transaction_state`). */
export const internalPrefix = "__";

/**
 * The ACLs a spec stands for, deduplicated and sorted by key. Pure. Kafka
 * implies DESCRIBE from READ and WRITE, so these are all a client needs:
 *
 * - `read`  → READ on the topics (fetch, offsets, metadata);
 * - `write` → WRITE on the topics (produce, idempotent too: no cluster
 *   IDEMPOTENT_WRITE is needed since Kafka 2.8);
 * - `read-write` → both;
 * - `consumerGroups` → READ on those groups (join, commit offsets).
 *
 * A grant on `all` comes with a DENY of the same operation on `__*`: a
 * literal `*` would otherwise cover Kafka's internal topics too, which no
 * grant reaches.
 */
export function userAcls(spec: UserSpec): UserAcl[] {
  const acls = new Map<string, UserAcl>();
  const add = (acl: UserAcl) => {
    acls.set(aclKey(acl), acl);
    if (acl.resourceName === "*" && acl.patternType === "Literal") {
      const internal: UserAcl = { ...acl, patternType: "Prefixed", resourceName: internalPrefix, deny: true };
      acls.set(aclKey(internal), internal);
    }
  };
  for (const grant of spec.access) {
    const target = pattern(grant.topics);
    if (grant.operations !== "write") add({ resourceType: "Topic", ...target, operation: "Read" });
    if (grant.operations !== "read") add({ resourceType: "Topic", ...target, operation: "Write" });
  }
  if (spec.consumerGroups) add({ resourceType: "Group", ...pattern(spec.consumerGroups), operation: "Read" });
  return [...acls.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, acl]) => acl);
}

/** "read on topics prefixed "payments."", "write on all topics": an ACL as people say it. */
export function describeAcl(acl: UserAcl): string {
  const what = acl.resourceType === "Topic" ? "topics" : "consumer groups";
  const where =
    acl.patternType === "Literal" && acl.resourceName === "*"
      ? `all ${what}`
      : `${what} prefixed "${acl.resourceName}"`;
  return `${acl.deny ? "deny " : ""}${acl.operation.toLowerCase()} on ${where}`;
}
