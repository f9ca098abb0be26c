import type { PostgresServer } from "@plinth/testing";
import pg from "pg";

/** Runs one statement as the server's superuser, independently of the plugin. */
export async function adminQuery<T>(server: PostgresServer, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: server.connectionString });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Logs in as `user` to `database` and returns who the server says we are; rejects with pg's error (code 28P01 = wrong password). */
export async function loginAs(
  server: PostgresServer,
  user: string,
  password: string,
  database: string,
): Promise<string> {
  const client = new pg.Client({ host: server.host, port: server.port, user, password, database });
  await client.connect();
  try {
    return (await client.query<{ user: string }>("select current_user as user")).rows[0]!.user;
  } finally {
    await client.end();
  }
}

/** What the server's catalog says about a database; undefined when it does not exist. */
export async function databaseSeen(
  server: PostgresServer,
  database: string,
): Promise<{ owner: string; connectionLimit: number } | undefined> {
  const [row] = await adminQuery<{ owner: string; connectionLimit: number }>(
    server,
    `select pg_get_userbyid(datdba) as owner, datconnlimit as "connectionLimit" from pg_database where datname = $1`,
    [database],
  );
  return row;
}

export async function roleExists(server: PostgresServer, role: string): Promise<boolean> {
  return (await adminQuery(server, "select 1 from pg_roles where rolname = $1", [role])).length > 0;
}

/** Extensions installed in `database` (plpgsql, which every database has, left out). */
export async function extensionsOf(server: PostgresServer, database: string): Promise<string[]> {
  // Not the connection string: pg lets its database win over an explicit one.
  const { host, port, user, password } = server;
  const client = new pg.Client({ host, port, user, password, database });
  await client.connect();
  try {
    const { rows } = await client.query<{ extname: string }>(
      "select extname from pg_extension where extname <> 'plpgsql' order by extname",
    );
    return rows.map((row) => row.extname);
  } finally {
    await client.end();
  }
}
