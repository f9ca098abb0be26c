import type { ProgramInput } from "@plinth/core";
import { type DatabaseSpec, isResolved } from "./database-spec.ts";
import type { PostgresSettings } from "./instance-settings.ts";

/**
 * The Pulumi program of one database: the owner role, its generated
 * password and the database (see `declareDatabase`; the password Plinth's
 * store holds goes with it, as a secret). Expects a resolved
 * spec (database, owner and connection limit filled). Outputs: `instance`,
 * `host`, `port`, `database`, `owner`, `connectionLimit`, `extensions`, and
 * the secrets `password` and `uri`.
 *
 * The Pulumi SDK is imported here, lazily: the server loads the plugin for
 * schemas, defaults and review without paying for it; only the engine's
 * child process runs programs.
 */
export async function databaseProgram({
  name,
  spec,
  settings,
  secretOutputs,
}: ProgramInput<DatabaseSpec, PostgresSettings>) {
  const instance = settings.instances[spec.instance];
  if (!instance) throw new Error(`unknown instance "${spec.instance}"`);
  if (!isResolved(spec)) {
    throw new Error("the database program needs a resolved spec (database, owner and connectionLimit filled)");
  }
  const { declareDatabase } = await import("./database-resource.ts");
  const held = secretOutputs?.password;
  return declareDatabase(name, spec, spec.instance, instance, typeof held === "string" ? held : undefined);
}
