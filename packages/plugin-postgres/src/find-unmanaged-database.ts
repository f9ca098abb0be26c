import { withInstanceClient } from "./admin-connection.ts";
import type { DatabaseSpec } from "./database-spec.ts";
import { validateDatabase } from "./database-validate.ts";
import type { PostgresSettings } from "./instance-settings.ts";
import { providerModule } from "./provider-module.ts";

/**
 * Looks for a database or an owner role on the instance that a new database
 * would clash with (core only asks before a create; Plinth's own resources
 * are told apart by core, through identities). Says what is in the way and
 * what to do; the provider refuses to take either over.
 */
export async function findUnmanagedDatabase(
  name: string,
  spec: DatabaseSpec,
  settings: PostgresSettings,
): Promise<string | undefined> {
  const instance = settings.instances[spec.instance];
  if (!instance || spec.database === undefined || spec.owner === undefined) return undefined;
  // Core validates first; this only keeps an admin's guardrail override from asking about a spec validate refuses.
  if (validateDatabase(name, spec, undefined, settings).some((violation) => !violation.overridable)) return undefined;
  const { rows } = await withInstanceClient(spec.instance, instance, (client) =>
    client.query<{ kind: "database" | "role"; comment: string | null }>(
      `select 'database' as kind, shobj_description(oid, 'pg_database') as comment from pg_database where datname = $1
       union all select 'role', shobj_description(oid, 'pg_authid') from pg_roles where rolname = $2`,
      [spec.database, spec.owner],
    ),
  );
  // What an interrupted create or delete of this very database left behind carries the marker: the provider resumes it.
  const marker = providerModule.markerOf({ instance: spec.instance, database: spec.database });
  const kinds = new Set(rows.filter((row) => row.comment !== marker).map((row) => row.kind));
  if (kinds.has("database")) {
    return (
      `database "${spec.database}" already exists on instance "${spec.instance}" but Plinth does not manage it: ` +
      `Plinth does not adopt existing databases yet, so pick another name (spec.database), or drop or rename it`
    );
  }
  if (kinds.has("role")) {
    return (
      `role "${spec.owner}" already exists on instance "${spec.instance}": Plinth makes the owner role itself ` +
      `(its password is generated), so pick another owner (spec.owner), or drop or rename that role`
    );
  }
  return undefined;
}
