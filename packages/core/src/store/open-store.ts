import { join } from "node:path";
import type { LoadedConfig } from "../config/service-config.ts";
import { type Notifier, createNotifier } from "../domain/notifier.ts";
import type { Logger } from "../observability/logger.ts";
import { StartupCheckError } from "../server/startup-check-error.ts";
import { postgresConnection } from "./postgres/postgres-connection.ts";
import { createPostgresNotifier } from "./postgres/postgres-notifier.ts";
import { openPostgresStore } from "./postgres/postgres-store.ts";
import { createSqliteStore } from "./sqlite/sqlite-store.ts";
import type { Store } from "./store.ts";

/**
 * The store the config names, with the wake-ups that go with it: PostgreSQL
 * (shared by replicas, wake-ups by LISTEN/NOTIFY) when `store.postgres` is
 * set, else the SQLite file in the data dir (one process, in-process wake-ups).
 */
export async function openStore(
  loaded: LoadedConfig,
  logger: Logger,
  /** SQLite's lease clock (see `StartOptions.leaseClock`); PostgreSQL leases on the database's clock. */
  leaseClock?: () => number,
): Promise<{ store: Store; notifier: Notifier }> {
  const { postgres, sqlite } = loaded.config.store;
  if (!postgres) {
    const store = createSqliteStore({
      path: join(loaded.dataDir, "plinth.db"),
      synchronous: sqlite.synchronous,
      clock: leaseClock,
    });
    try {
      logger.info({ dataDir: loaded.dataDir, ...(await store.settings()) }, "store: SQLite");
    } catch (error) {
      await store.close();
      throw error;
    }
    return { store, notifier: createNotifier() };
  }
  const store = await openPostgresStore({
    connection: postgresConnection(postgres),
    poolSize: postgres.poolSize,
    timeouts: postgres.timeouts,
    // The message and code only: the error object carries the connection's settings.
    onConnectionError: (error) =>
      logger.warn(
        { error: error.message, code: (error as { code?: string }).code },
        "a PostgreSQL connection failed; a new one is opened when needed",
      ),
  }).catch((error: unknown) => {
    const { code } = error as { code?: string };
    throw new StartupCheckError(
      `the PostgreSQL store does not answer: ${(error as Error).message}${code ? ` (${code})` : ""}; check store.postgres`,
      { cause: error },
    );
  });
  const refusal = store.refusal();
  if (refusal) {
    await store.close();
    throw new Error(`the PostgreSQL store refuses to start: ${refusal}`);
  }
  const notifier = await createPostgresNotifier(store, (error) =>
    logger.warn(
      { error: error.message },
      "no LISTEN/NOTIFY on this database: other replicas' work is seen at the next poll",
    ),
  );
  logger.info({ store: "postgres", poolSize: postgres.poolSize }, "store: PostgreSQL");
  return { store, notifier };
}
