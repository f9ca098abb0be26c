import pg from "pg";
import type { StackLock } from "./stack-locks.ts";

/**
 * Reads a stack's locks from Pulumi's PostgreSQL backend, which keeps every
 * file of the file backend as a row of its table (`pulumi_state` unless the
 * URL says `?table=`), keyed under the URL's path (the database name):
 * `<db>/.pulumi/locks/organization/<project>/<stack>/<id>.json`, its content
 * base64 in `data.data`. A lock's age is taken on the database's clock (now()
 * minus the row's `updated_at`), so replicas on hosts whose clocks disagree
 * judge it alike.
 */
export async function readPostgresStackLocks(
  backendUrl: string,
  projectName: string,
  stackName: string,
): Promise<StackLock[]> {
  const url = new URL(backendUrl);
  const table = url.searchParams.get("table") ?? "pulumi_state";
  url.searchParams.delete("table");
  const prefix = `${url.pathname.replace(/^\/+/, "")}/.pulumi/locks/organization/${projectName}/${stackName}/`;
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const { rows } = await client
      .query<{ key: string; data: { data?: string }; age_ms: number }>(
        // The table's name is the operator's setting, never a request's; quoted as an identifier all the same.
        `SELECT key, data, (extract(epoch FROM now() - updated_at) * 1000)::float8 AS age_ms
         FROM ${client.escapeIdentifier(table)} WHERE starts_with(key, $1) AND key LIKE '%.json'`,
        [prefix],
      )
      // No table yet: the backend has never written a file, so it holds no lock.
      .catch((error: unknown) => {
        if ((error as { code?: string }).code === "42P01") return { rows: [] };
        throw error;
      });
    const now = Date.now();
    return rows.map((row) => {
      const lock: StackLock = { file: row.key, takenAt: now - row.age_ms };
      try {
        const content = JSON.parse(Buffer.from(row.data.data ?? "", "base64").toString("utf8")) as {
          pid?: unknown;
          hostname?: unknown;
        };
        if (typeof content.pid === "number") lock.pid = content.pid;
        if (typeof content.hostname === "string") lock.hostname = content.hostname;
      } catch {
        // Not JSON: judged by its age alone.
      }
      return lock;
    });
  } finally {
    await client.end();
  }
}
