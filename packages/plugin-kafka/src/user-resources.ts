import * as kafka from "@pulumi/kafka";
import { clusterProviderArgs } from "./cluster-provider.ts";
import type { ClusterSettings } from "./cluster-settings.ts";
import { adminOptions } from "./kafka-admin.ts";
import { ScramCredential } from "./scram-credential.ts";
import { aclKey, userAcls, userPrincipal } from "./user-acls.ts";
import { type UserSpec, userScramIterations, userScramMechanism } from "./user-spec.ts";

/**
 * Declares the user's SCRAM credential with its generated password (a
 * dynamic resource, see `ScramCredential`; `held` is the password Plinth's
 * store holds, if any), the cluster's Kafka provider and
 * one ACL per rule of `userAcls`, and returns the outputs (see `userProgram`).
 */
export function declareUser(name: string, spec: UserSpec, cluster: ClusterSettings, held?: string) {
  const provider = new kafka.Provider(spec.cluster, clusterProviderArgs(cluster));
  const admin = adminOptions(cluster);
  const credential = new ScramCredential(name, {
    username: name,
    iterations: userScramIterations,
    generation: spec.rotation,
    ...(held !== undefined && { held }),
    connection: {
      bootstrapServers: cluster.bootstrapServers,
      ...(cluster.sasl && { sasl: cluster.sasl }),
      ...(admin.tls && {
        tls: JSON.parse(JSON.stringify(admin.tls)) as { rejectUnauthorized: boolean },
      }),
    },
  });
  for (const acl of userAcls(spec)) {
    new kafka.Acl(
      aclKey(acl),
      {
        aclPrincipal: userPrincipal(name),
        aclHost: "*",
        aclOperation: acl.operation,
        aclPermissionType: acl.deny ? "Deny" : "Allow",
        aclResourceType: acl.resourceType,
        aclResourceName: acl.resourceName,
        resourcePatternTypeFilter: acl.patternType,
      },
      // Only once the credential is made: its create refuses a user someone else made meanwhile, and
      // these ACLs must not then hand that user (and whoever holds its password) the spec's access.
      { provider, dependsOn: [credential] },
    );
  }
  return {
    username: credential.username,
    mechanism: userScramMechanism,
    rotation: spec.rotation,
    cluster: spec.cluster,
    bootstrapServers: cluster.bootstrapServers,
    password: credential.password,
  };
}
