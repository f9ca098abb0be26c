import type { VerifyInput, VerifyResult } from "@plinth/core";
import type pg from "pg";
import { withInstanceClient } from "./admin-connection.ts";
import { type DatabaseSpec, isResolved } from "./database-spec.ts";
import type { PostgresSettings } from "./instance-settings.ts";

interface ObservedDatabase {
  owner: string;
  connectionLimit: number;
  ownerCanLogin: boolean | null;
}

/** The database as the server's catalog describes it, with its owner role's LOGIN; undefined when it does not exist. */
async function observeDatabase(client: pg.Client, database: string): Promise<ObservedDatabase | undefined> {
  const { rows } = await client.query<ObservedDatabase>(
    `select pg_get_userbyid(d.datdba) as owner, d.datconnlimit as "connectionLimit", r.rolcanlogin as "ownerCanLogin"
       from pg_database d left join pg_roles r on r.oid = d.datdba
      where d.datname = $1`,
    [database],
  );
  return rows[0];
}

async function extensionsSeenBy(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ extname: string }>(
    "select extname from pg_extension where extname <> 'plpgsql' order by extname",
  );
  return rows.map((row) => row.extname);
}

/**
 * Checks the database as the server sees it, independently of Pulumi: it
 * exists, belongs to the owner role, has the connection limit, and (logged
 * in AS THE OWNER with the generated password, when core passes the secret
 * outputs) has exactly the spec's extensions. Must not change anything;
 * every client is closed. A server that cannot be reached is "not ready"
 * (with the error), so core keeps polling. Messages never hold the password.
 */
export async function verifyDatabase({
  spec,
  secretOutputs,
  settings,
}: VerifyInput<DatabaseSpec, PostgresSettings>): Promise<VerifyResult> {
  const instance = settings.instances[spec.instance];
  if (!instance) return { ready: false, message: `unknown instance "${spec.instance}"` };
  if (!isResolved(spec)) return { ready: false, message: "the spec is not resolved" };
  const where = `on instance "${spec.instance}"`;
  let observed: ObservedDatabase | undefined;
  try {
    observed = await withInstanceClient(spec.instance, instance, (client) => observeDatabase(client, spec.database));
  } catch (error) {
    return { ready: false, message: `instance "${spec.instance}" unreachable: ${(error as Error).message}` };
  }
  if (!observed) return { ready: false, message: `database "${spec.database}" not found ${where}` };
  const problems: string[] = [];
  if (observed.owner !== spec.owner) problems.push(`owner is ${observed.owner}, expected ${spec.owner}`);
  if (observed.connectionLimit !== spec.connectionLimit) {
    problems.push(`connection limit is ${observed.connectionLimit}, expected ${spec.connectionLimit}`);
  }
  if (observed.ownerCanLogin !== true) problems.push(`role ${observed.owner} cannot log in`);
  if (problems.length > 0) return { ready: false, message: `database "${spec.database}": ${problems.join("; ")}` };

  const password = secretOutputs?.password;
  const asOwner = typeof password === "string";
  let extensions: string[];
  try {
    extensions = await withInstanceClient(spec.instance, instance, extensionsSeenBy, {
      database: spec.database,
      ...(asOwner && { user: spec.owner, password }),
    });
  } catch (error) {
    const who = asOwner ? `role ${spec.owner} with its generated password` : "the admin role";
    return { ready: false, message: `cannot connect to "${spec.database}" as ${who}: ${(error as Error).message}` };
  }
  const expected = [...spec.extensions].sort();
  if (JSON.stringify(extensions) !== JSON.stringify(expected)) {
    return {
      ready: false,
      message: `database "${spec.database}" has extensions [${extensions.join(", ")}], expected [${expected.join(", ")}]`,
    };
  }
  const login = asOwner ? `; ${spec.owner} logs in with its generated password` : "";
  return {
    ready: true,
    message: `database "${spec.database}" ${where} belongs to ${spec.owner} with connection limit ${spec.connectionLimit} and extensions [${expected.join(", ")}]${login}`,
  };
}

/**
 * After a delete: neither the database nor its owner role exists any more.
 * Must not change anything.
 */
export async function verifyDatabaseGone({
  spec,
  settings,
}: VerifyInput<DatabaseSpec, PostgresSettings>): Promise<VerifyResult> {
  const instance = settings.instances[spec.instance];
  if (!instance) return { ready: false, message: `unknown instance "${spec.instance}"` };
  const database = spec.database ?? "";
  try {
    const { rows } = await withInstanceClient(spec.instance, instance, (client) =>
      client.query<{ kind: string }>(
        `select 'database' as kind from pg_database where datname = $1
         union all select 'role' from pg_roles where rolname = $2`,
        [database, spec.owner ?? ""],
      ),
    );
    if (rows.length === 0) {
      return { ready: true, message: `database "${database}" and role ${spec.owner} are gone from "${spec.instance}"` };
    }
    return {
      ready: false,
      message: `still on instance "${spec.instance}": ${rows.map((row) => (row.kind === "database" ? `database "${database}"` : `role ${spec.owner}`)).join(", ")}`,
    };
  } catch (error) {
    return { ready: false, message: `cannot reach instance "${spec.instance}": ${(error as Error).message}` };
  }
}
