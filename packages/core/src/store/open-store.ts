import { join } from "node:path";
import type { LoadedConfig } from "../config/service-config.ts";
import type { Logger } from "../observability/logger.ts";
import { postgresConnection } from "./postgres/postgres-connection.ts";
import { openPostgresStore } from "./postgres/postgres-store.ts";
import { createSqliteStore } from "./sqlite/sqlite-store.ts";
import type { Store } from "./store.ts";

/** The store the config names: PostgreSQL when `store.postgres` is set, else the SQLite file in the data dir. */
export async function openStore(loaded: LoadedConfig, logger: Logger): Promise<Store> {
  const { postgres, sqlite } = loaded.config.store;
  if (!postgres) return createSqliteStore({ path: join(loaded.dataDir, "plinth.db"), synchronous: sqlite.synchronous });
  const store = await openPostgresStore({
    connection: postgresConnection(postgres),
    poolSize: postgres.poolSize,
    onConnectionError: (error) =>
      logger.warn({ err: error }, "a PostgreSQL connection failed; the pool opens a new one when needed"),
  });
  const refusal = store.refusal();
  if (refusal) {
    await store.close();
    throw new Error(`the PostgreSQL store refuses to start: ${refusal}`);
  }
  logger.info({ store: "postgres", poolSize: postgres.poolSize }, "store: PostgreSQL");
  return store;
}
