import type { Admin } from "@platformatic/kafka";
import type { VerifyInput, VerifyResult } from "@plinth/core";
import type { ClusterSettings, KafkaSettings } from "./cluster-settings.ts";
import { withAdmin } from "./kafka-admin.ts";
import { isAuthenticationError } from "./authentication-error.ts";
import { describeScramUsers } from "./scram-users.ts";
import { type UserAcl, aclKey, describeAcl, userAcls, userPrincipal } from "./user-acls.ts";
import { type UserSpec, userScramMechanism } from "./user-spec.ts";

/** A user's ACLs as the cluster holds them: ALLOW and DENY rules in `UserAcl` form, and any other kind in words. */
export interface ObservedAcls {
  known: UserAcl[];
  other: string[];
}

/**
 * The ACLs the cluster holds on topics and groups for the principal of
 * `name`, or with `null` for every principal in one request, by principal
 * ("User:<name>"). Read-only.
 */
export async function clusterAclsByPrincipal(admin: Admin, name: string | null): Promise<Map<string, ObservedAcls>> {
  const { AclOperations, AclPermissionTypes, ResourcePatternTypes, ResourceTypes } =
    await import("@platformatic/kafka");
  const resources = await admin.describeAcls({
    filter: {
      resourceType: ResourceTypes.ANY,
      resourceName: null,
      resourcePatternType: ResourcePatternTypes.ANY,
      principal: name === null ? null : userPrincipal(name),
      host: null,
      operation: AclOperations.ANY,
      permissionType: AclPermissionTypes.ANY,
    },
  });
  const byPrincipal = new Map<string, ObservedAcls>();
  for (const resource of resources) {
    for (const acl of resource.acls) {
      let observed = byPrincipal.get(acl.principal);
      if (!observed) byPrincipal.set(acl.principal, (observed = { known: [], other: [] }));
      const resourceType =
        resource.resourceType === ResourceTypes.TOPIC
          ? "Topic"
          : resource.resourceType === ResourceTypes.GROUP
            ? "Group"
            : undefined;
      const patternType =
        resource.resourcePatternType === ResourcePatternTypes.LITERAL
          ? "Literal"
          : resource.resourcePatternType === ResourcePatternTypes.PREFIXED
            ? "Prefixed"
            : undefined;
      const operation =
        acl.operation === AclOperations.READ ? "Read" : acl.operation === AclOperations.WRITE ? "Write" : undefined;
      if (
        resourceType &&
        patternType &&
        operation &&
        (acl.permissionType === AclPermissionTypes.ALLOW || acl.permissionType === AclPermissionTypes.DENY) &&
        acl.host === "*"
      ) {
        const deny = acl.permissionType === AclPermissionTypes.DENY ? { deny: true as const } : {};
        observed.known.push({ resourceType, patternType, resourceName: resource.resourceName, operation, ...deny });
      } else {
        observed.other.push(`${resource.resourceName} (type ${resource.resourceType}, operation ${acl.operation})`);
      }
    }
  }
  return byPrincipal;
}

/** The ACLs the cluster holds for `name` on topics and groups, in `UserAcl` form (others are listed apart). */
async function clusterAcls(admin: Admin, name: string): Promise<ObservedAcls> {
  return (await clusterAclsByPrincipal(admin, name)).get(userPrincipal(name)) ?? { known: [], other: [] };
}

/** What the cluster holds for the user: its SCRAM mechanisms and ACLs. Read-only. */
async function observeUser(cluster: ClusterSettings, name: string) {
  const users = await describeScramUsers(cluster);
  const acls = await withAdmin(cluster, (admin) => clusterAcls(admin, name));
  return { credentials: users.get(name) ?? [], ...acls };
}

type Observed = Awaited<ReturnType<typeof observeUser>>;

/** Observes the user on its cluster and lets `judge` answer; an unknown or unreachable cluster is "not ready". */
async function judgeUser(
  { name, spec, settings }: VerifyInput<UserSpec, KafkaSettings>,
  judge: (observed: Observed) => VerifyResult,
): Promise<VerifyResult> {
  const cluster = settings.clusters[spec.cluster];
  if (!cluster) return { ready: false, message: `unknown cluster "${spec.cluster}"` };
  let observed: Observed;
  try {
    observed = await observeUser(cluster, name);
  } catch (error) {
    return { ready: false, message: `cannot reach cluster "${spec.cluster}": ${(error as Error).message}` };
  }
  return judge(observed);
}

/**
 * Checks the user as the cluster sees it, independently of Pulumi: a
 * SCRAM-SHA-512 credential exists, the user's ACLs are exactly those the spec
 * stands for, and (on a cluster with SASL) the user logs in with the password
 * Plinth holds. Must not change anything.
 */
export async function verifyUser(input: VerifyInput<UserSpec, KafkaSettings>): Promise<VerifyResult> {
  const { name, spec } = input;
  const onCluster = await judgeUser(input, (observed) => {
    const problems = userProblems(
      spec,
      observed.credentials.map((credential) => credential.mechanism),
      observed,
    );
    if (problems.length > 0) return { ready: false, message: `user "${name}": ${problems.join("; ")}` };
    return {
      ready: true,
      message: `user "${name}" has a ${userScramMechanism} credential and ${userAcls(spec).length} ACL(s) as specified`,
    };
  });
  const password = input.secretOutputs?.password;
  const cluster = input.settings.clusters[spec.cluster];
  if (!onCluster.ready || typeof password !== "string" || !cluster?.sasl) return onCluster;
  return await logsInAs(cluster, name, password, onCluster);
}

/**
 * The credential is the one Plinth holds: the user logs in with the password
 * it was given (a credential replaced behind Plinth's back, a password
 * rotated without the outputs, or a backup restored from before a rotation
 * fails here). Kafka never reveals a password, nor its salt, so this is the
 * only way to tell. Without SASL on the cluster there is nothing to log in to.
 */
async function logsInAs(
  cluster: ClusterSettings,
  name: string,
  password: string,
  onCluster: VerifyResult,
): Promise<VerifyResult> {
  let refused: string | undefined;
  try {
    refused = await passwordRefusal(cluster, name, password);
  } catch (error) {
    return {
      ready: false,
      unknown: true,
      message: `cannot reach cluster to log in as "${name}": ${(error as Error).message}`,
    };
  }
  if (refused) return { ready: false, message: refused };
  return { ...onCluster, message: `${onCluster.message ?? ""}; it logs in with its password` };
}

/**
 * Why the cluster refuses a SCRAM login of `name` with `password` (the
 * password Plinth holds), or undefined when it logs in (or the cluster has no
 * SASL to log in to). Throws when the cluster cannot be reached at all: not
 * knowing is not a refusal. Read-only.
 */
export async function passwordRefusal(
  cluster: ClusterSettings,
  name: string,
  password: string,
): Promise<string | undefined> {
  if (!cluster.sasl) return undefined;
  try {
    await withAdmin(
      { ...cluster, sasl: { mechanism: userScramMechanism, username: name, password } },
      // Any request authenticates first; cluster metadata needs no ACL.
      (admin) => admin.metadata({ topics: [] }),
    );
    return undefined;
  } catch (error) {
    if (!isAuthenticationError(error)) throw error;
    return (
      `user "${name}" cannot log in with the password Plinth holds: the broker's SCRAM credential does not match it ` +
      "(a store restored from before a rotation, or a password set outside Plinth), so its clients use another. " +
      "Adopt that one (plinth-server adopt-secrets, from the store a restore replaced) or set the credential back " +
      "(plinth reconcile: always reviewed, since it cuts those clients off)"
    );
  }
}

/**
 * How what the cluster holds for a user differs from its spec: its SCRAM
 * credential and exactly the spec's ACLs. Pure; `verify` and a reconcile
 * round's bulk comparison both judge by it.
 */
export function userProblems(spec: UserSpec, mechanisms: string[], acls: ObservedAcls): string[] {
  const problems: string[] = [];
  if (!mechanisms.includes(userScramMechanism)) problems.push(`no ${userScramMechanism} credential`);
  const expected = new Map(userAcls(spec).map((acl) => [aclKey(acl), acl]));
  const actual = new Map(acls.known.map((acl) => [aclKey(acl), acl]));
  for (const [key, acl] of expected) if (!actual.has(key)) problems.push(`missing ${describeAcl(acl)}`);
  for (const [key, acl] of actual) if (!expected.has(key)) problems.push(`unexpected ${describeAcl(acl)}`);
  for (const other of acls.other) problems.push(`unexpected ACL on ${other}`);
  return problems;
}

/** After a delete: no SCRAM credential and no ACL left for the user. Must not change anything. */
export function verifyUserGone(input: VerifyInput<UserSpec, KafkaSettings>): Promise<VerifyResult> {
  const { name, spec } = input;
  return judgeUser(input, (observed) => {
    const left = observed.known.length + observed.other.length;
    if (observed.credentials.length > 0 || left > 0) {
      return {
        ready: false,
        message: `user "${name}" still has ${observed.credentials.length} credential(s) and ${left} ACL(s)`,
      };
    }
    return { ready: true, message: `user "${name}" has no credential and no ACL on cluster "${spec.cluster}"` };
  });
}

/**
 * Whether `name` already exists on the cluster in any form Plinth did not
 * make, before a create (core asks only then): a SCRAM credential of any
 * mechanism, an ACL naming the principal, or a place in `super.users` (from
 * the settings: Kafka does not report it over its API).
 * Creating over any of them would take it over: replace the password under
 * the clients using it, or hand a super user's reach to whoever reveals the
 * new password. Throws when the cluster does not answer; core then refuses
 * the create (UNAVAILABLE) rather than guess.
 */
export async function findUnmanagedUser(
  name: string,
  spec: UserSpec,
  settings: KafkaSettings,
): Promise<string | undefined> {
  const cluster = settings.clusters[spec.cluster];
  // Plinth's own user exists by definition; validate refuses it with the reason (RESERVED_USER_NAME).
  if (!cluster || name === cluster.sasl?.username) return undefined;
  const [users, acls] = await Promise.all([
    describeScramUsers(cluster),
    withAdmin(cluster, async (admin) => {
      const { known, other } = await clusterAcls(admin, name);
      return known.length + other.length;
    }),
  ]);
  const found: string[] = [];
  if (users.has(name)) found.push("SCRAM credentials");
  if (acls > 0) found.push(`${acls} ACL(s)`);
  if (cluster.superUsers.includes(name)) found.push("a place in the brokers' super.users (settings: superUsers)");
  if (found.length === 0) return undefined;
  return `user "${name}" already exists on cluster ${spec.cluster} (${found.join(", ")}) but Plinth does not manage it: creating it here would take it over (replace its password under the clients using it, or inherit its access). To bring it under Plinth, remove it from the cluster first (its credentials and ACLs; super.users only by a broker change), then apply again: Plinth creates it with a new password and exactly the spec's ACLs. Otherwise pick another name`;
}

/**
 * The SCRAM users a cluster holds, each with its ACLs, for the cluster view
 * and a reconcile round's bulk comparison: two requests whatever the number
 * of users (every credential, every ACL). Read-only.
 */
export async function listScramUsers(settings: KafkaSettings, clusterName: string) {
  const cluster = settings.clusters[clusterName];
  if (!cluster) {
    throw new Error(`unknown cluster "${clusterName}"; known: ${Object.keys(settings.clusters).join(", ")}`);
  }
  const [users, acls] = await Promise.all([
    describeScramUsers(cluster),
    withAdmin(cluster, (admin) => clusterAclsByPrincipal(admin, null)),
  ]);
  return [...users.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, credentials]) => ({
      name,
      mechanisms: credentials.map((credential) => credential.mechanism),
      acls: acls.get(userPrincipal(name)) ?? { known: [], other: [] },
    }));
}
