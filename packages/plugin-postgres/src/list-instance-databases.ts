import { withInstanceClient } from "./admin-connection.ts";
import { systemDatabases } from "./identifier-rules.ts";
import type { PostgresSettings } from "./instance-settings.ts";

export interface InstanceDatabase {
  database: string;
  owner: string;
  /** -1 = no limit. */
  connectionLimit: number;
  /** The comment on the database: Plinth marks the databases it made. */
  comment: string | null;
}

/**
 * The databases an instance actually holds (the system databases and the
 * admin database excluded), sorted by name, as its catalog reports them:
 * the basis of the instance view and of "exists but unmanaged" detection.
 * Read-only. Throws when the instance is unknown or unreachable.
 */
export async function listInstanceDatabases(
  settings: PostgresSettings,
  instanceName: string,
): Promise<InstanceDatabase[]> {
  const instance = settings.instances[instanceName];
  if (!instance) {
    throw new Error(`unknown instance "${instanceName}"; known: ${Object.keys(settings.instances).join(", ")}`);
  }
  const hidden = [...systemDatabases, instance.database];
  const { rows } = await withInstanceClient(instanceName, instance, (client) =>
    client.query<InstanceDatabase>(
      `select datname as database, pg_get_userbyid(datdba) as owner, datconnlimit as "connectionLimit",
              shobj_description(oid, 'pg_database') as comment
         from pg_database where not (datname = any($1::text[])) order by datname`,
      [hidden],
    ),
  );
  return rows;
}
