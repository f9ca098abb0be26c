export { adminPassword, connectionProps, withInstanceClient } from "./admin-connection.ts";
export { defaultOwner, resolveDatabaseDefaults } from "./database-defaults.ts";
export { guardrailViolations, isGuardrailReason } from "./database-guardrails.ts";
export { databaseProgram } from "./database-program.ts";
export { type ReviewFinding, databaseReviewFindings, databaseReviewPolicy, reviewDatabase } from "./database-review.ts";
export { DatabaseSpec, type DatabaseSpecInput, type ResolvedDatabaseSpec, isResolved } from "./database-spec.ts";
export { validateDatabase, validateDatabaseDelete } from "./database-validate.ts";
export { verifyDatabase, verifyDatabaseGone } from "./database-verify.ts";
export { findUnmanagedDatabase } from "./find-unmanaged-database.ts";
export {
  type IdentifierKind,
  identifierViolations,
  maxIdentifierBytes,
  reservedWords,
  systemDatabases,
} from "./identifier-rules.ts";
export {
  InstanceSettings,
  PostgresSettings,
  type PostgresSettingsInput,
  SslMode,
  defaultAllowedExtensions,
} from "./instance-settings.ts";
export { type InstanceDatabase, listInstanceDatabases } from "./list-instance-databases.ts";
export { postgresDatabase } from "./postgres-database.ts";
export type {} from "./resource-types.ts";
