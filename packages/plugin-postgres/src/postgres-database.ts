import { definePlugin } from "@plinth/core";
import { resolveDatabaseDefaults } from "./database-defaults.ts";
import { databaseDifferences } from "./database-differences.ts";
import { databaseProgram } from "./database-program.ts";
import { databaseReviewPolicy, reviewDatabase } from "./database-review.ts";
import { DatabaseSpec } from "./database-spec.ts";
import { validateDatabase, validateDatabaseDelete } from "./database-validate.ts";
import { summarizeDatabase } from "./database-summary.ts";
import { verifyDatabase, verifyDatabaseGone } from "./database-verify.ts";
import { findUnmanagedDatabase } from "./find-unmanaged-database.ts";
import { PostgresSettings, databaseQuota } from "./instance-settings.ts";
import { listInstanceDatabases } from "./list-instance-databases.ts";
import { ownerPasswordMismatch } from "./owner-password-mismatch.ts";

/**
 * `postgres.database`: a database on one of the instances named in the
 * plugin settings, owned by a role of its own whose password Plinth
 * generates (a secret output), with a connection limit and extensions from
 * the instance's allowed list, verified by logging in as that role.
 */
export const postgresDatabase = definePlugin<DatabaseSpec, PostgresSettings>({
  type: "postgres.database",
  version: "1.0.0",
  description:
    "A PostgreSQL database with its own owner role and generated password, a connection limit and allowed extensions.",
  settings: PostgresSettings,
  spec: DatabaseSpec,
  ownerTeam: (spec) => spec.team,
  usage: (_name, spec) => ({ scope: spec.instance, amounts: { databases: 1 } }),
  quota: (instance, team, ctx) => databaseQuota(ctx.settings, instance, team),
  // PostgreSQL database names are unique per server; the defaults always fill `database`.
  identity: (name, spec) => `${spec.instance}/${spec.database ?? name}`,
  defaults: (name, spec, ctx) => resolveDatabaseDefaults(name, spec, ctx.settings),
  validate: (name, next, previous, ctx) => validateDatabase(name, next, previous, ctx.settings),
  validateDelete: (name, previous) => validateDatabaseDelete(name, previous),
  findUnmanaged: (name, spec, ctx) => findUnmanagedDatabase(name, spec, ctx.settings),
  // The instance view: scope = instance name.
  inventoryScopes: (ctx) => Object.keys(ctx.settings.instances),
  inventory: async (instance, ctx) =>
    (await listInstanceDatabases(ctx.settings, instance)).map((database) => ({
      name: database.database,
      identity: `${instance}/${database.database}`,
      observed: { owner: database.owner, connectionLimit: database.connectionLimit },
    })),
  // Drift in bulk: one pg_database query per instance; extensions, which live inside each database, are not listed.
  observeInBulk: {
    scope: (_name, spec) => spec.instance,
    differences: (item, name, spec) => databaseDifferences(item, name, spec),
    // Nor are passwords: the owner logs in with the password Plinth holds, one login per database and round.
    // Core also asks before applying an update: a mismatch holds it for a reviewer.
    checkSecrets: async (name, spec, secretOutputs, ctx) => {
      const password = secretOutputs.password;
      if (typeof password !== "string") return [];
      const mismatch = await ownerPasswordMismatch(name, spec, password, ctx.settings);
      return mismatch ? [mismatch] : [];
    },
  },
  review: (input, ctx) => reviewDatabase(input, ctx.settings),
  reviewPolicy: databaseReviewPolicy,
  program: databaseProgram,
  secretOutputs: ["password", "uri"],
  verify: verifyDatabase,
  verifyGone: verifyDatabaseGone,
  summarize: summarizeDatabase,
});
