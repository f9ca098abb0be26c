import { type JsonObject, definePlugin } from "@plinth/core";
import { KafkaSettings, teamQuota } from "./cluster-settings.ts";
import { resolveUserDefaults } from "./user-defaults.ts";
import { userProgram } from "./user-program.ts";
import { revokeUserGrant } from "./revoke-user-grant.ts";
import { reviewUser, userReviewPolicy } from "./user-review.ts";
import { userReaches } from "./user-reaches.ts";
import { UserSpec } from "./user-spec.ts";
import { validateUser } from "./user-validate.ts";
import type { UserAcl } from "./user-acls.ts";
import { passwordMismatch } from "./password-mismatch.ts";
import { findUnmanagedUser, listScramUsers, userProblems, verifyUser, verifyUserGone } from "./user-verify.ts";

/**
 * `kafka.user`: a SCRAM-SHA-512 user on one of the configured clusters,
 * with a password Plinth generates (a secret output, revealed only through
 * RevealSecret and rotated by raising `rotation`) and ACLs for reading
 * and/or writing all topics or those of a prefix, verified on the cluster.
 */
export const kafkaUser = definePlugin<UserSpec, KafkaSettings>({
  type: "kafka.user",
  version: "1.0.0",
  description:
    "A Kafka SCRAM-SHA-512 user with a generated password (secret, rotated on request) and read/write ACLs on all topics or a prefix.",
  settings: KafkaSettings,
  spec: UserSpec,
  ownerTeam: (spec) => spec.owner.team,
  reaches: (name, spec, lookup, ctx) => userReaches(name, spec, lookup, ctx.settings),
  revoke: (name, spec, field) => revokeUserGrant(name, spec, field),
  usage: (_name, spec) => ({ scope: spec.cluster, amounts: { users: 1 } }),
  quota: (cluster, team, ctx) => teamQuota(ctx.settings, cluster, team, ["users"]),
  // SCRAM user names are case-sensitive and global to a cluster.
  identity: (name, spec) => `${spec.cluster}/${name}`,
  defaults: (name, spec) => resolveUserDefaults(name, spec),
  validate: (name, next, previous, ctx) => validateUser(name, next, previous, ctx.settings),
  findUnmanaged: (name, spec, ctx) => findUnmanagedUser(name, spec, ctx.settings),
  inventoryScopes: (ctx) => Object.keys(ctx.settings.clusters),
  inventory: async (cluster, ctx) =>
    (await listScramUsers(ctx.settings, cluster)).map((user) => ({
      name: user.name,
      identity: `${cluster}/${user.name}`,
      observed: {
        mechanisms: user.mechanisms,
        acls: user.acls.known,
        otherAcls: user.acls.other,
      } as unknown as JsonObject,
    })),
  // Drift in bulk: every credential and every ACL of a cluster in two requests, judged as `verify` judges.
  observeInBulk: {
    scope: (_name, spec) => spec.cluster,
    differences: (item, name, spec) => {
      if (!item) return [`user "${name}" has no SCRAM credential on cluster "${spec.cluster}"`];
      const observed = item.observed as unknown as { mechanisms: string[]; acls: UserAcl[]; otherAcls: string[] };
      return userProblems(spec, observed.mechanisms, { known: observed.acls, other: observed.otherAcls });
    },
    // A listing shows no password (nor its salt): the password Plinth holds is tried, one login per user.
    // Core also asks before applying an update: a mismatch holds it for a reviewer.
    checkSecrets: async (name, spec, secretOutputs, ctx) => {
      const cluster = ctx.settings.clusters[spec.cluster];
      const password = secretOutputs.password;
      if (!cluster || typeof password !== "string") return [];
      const mismatch = await passwordMismatch(cluster, name, password);
      return mismatch ? [mismatch] : [];
    },
  },
  review: (input, ctx) => reviewUser(input, ctx.settings),
  reviewPolicy: userReviewPolicy,
  program: userProgram,
  secretOutputs: ["password"],
  verify: verifyUser,
  verifyGone: verifyUserGone,
});
