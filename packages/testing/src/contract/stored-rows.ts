import { gunzipSync } from "node:zlib";
import pg from "pg";

/** A Pulumi `postgres://` backend URL's connection, without the backend's own `table` parameter. */
export function pulumiBackendConnection(backendUrl: string): { connectionString: string; table: string } {
  const url = new URL(backendUrl);
  const table = url.searchParams.get("table") ?? "pulumi_state";
  url.searchParams.delete("table");
  return { connectionString: url.toString(), table };
}

/**
 * Every row of the named tables (default: every table of the connection's
 * current schema), one JSON line each prefixed with its table, for the
 * secret scan: a value the provider did not mark secret is plain text in a
 * `postgres://` Pulumi backend's rows as in a file backend's files, and a
 * PostgreSQL store's rows hold whatever core wrote outside the API's replies.
 */
export async function postgresRowsText(connection: pg.ClientConfig, except: readonly string[] = []): Promise<string> {
  const client = new pg.Client(connection);
  await client.connect();
  try {
    const names = (
      await client.query<{ name: string }>(
        "select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1",
      )
    ).rows
      .map((row) => row.name)
      .filter((name) => !except.includes(name));
    const parts: string[] = [];
    for (const name of names) {
      const { rows } = await client.query<{ row: string }>(
        `select to_jsonb(t)::text as row from ${client.escapeIdentifier(name)} t`,
      );
      for (const { row } of rows) parts.push(`${name}: ${row}`);
    }
    return parts.join("\n");
  } finally {
    await client.end();
  }
}

/**
 * Every object of a `postgres://` Pulumi backend (checkpoints, their backups,
 * the history, locks), each as "<key>\n<content>" like the file backend's
 * files: the backend keeps each object's bytes base64-encoded in a JSON
 * `data` field, so a value in it is searched decoded (and gunzipped).
 */
export async function pulumiBackendRowsText(backendUrl: string): Promise<string> {
  const { connectionString, table } = pulumiBackendConnection(backendUrl);
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const { rows } = await client.query<{ key: string; data: unknown }>(
      `select key, data from ${client.escapeIdentifier(table)} order by key`,
    );
    return rows
      .map(({ key, data }) => {
        const encoded = (data as { data?: unknown } | null)?.data;
        if (typeof encoded !== "string") return `${key}\n${JSON.stringify(data)}`;
        const bytes = Buffer.from(encoded, "base64");
        return `${key}\n${(key.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8")}`;
      })
      .join("\n");
  } finally {
    await client.end();
  }
}
