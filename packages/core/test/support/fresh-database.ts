import type { PostgresServer } from "@plinth/testing";
import pg from "pg";

let databases = 0;

/** A new, empty database on a test's PostgreSQL server, and its URL: each store test starts from nothing. */
export async function freshDatabase(server: PostgresServer, prefix = "plinth"): Promise<string> {
  const name = `${prefix}_${++databases}`;
  const admin = new pg.Client({ connectionString: server.connectionString });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server.connectionString);
  url.pathname = `/${name}`;
  return url.toString();
}
