import type { LoadedConfig } from "../config/service-config.ts";
import type { Logger } from "../observability/logger.ts";
import { lockDataDir } from "../server/data-dir-lock.ts";
import { openStore } from "../store/open-store.ts";
import { type ResealCount, resealSecrets } from "./reseal-secrets.ts";
import { createSecretBox } from "./secret-box.ts";

/**
 * `plinth rekey`: seals every secret in the configured store again with
 * `secrets.key`, opening them with it or one of `secrets.previousKeys`. On
 * SQLite the server must be stopped (the data-dir lock says so); PostgreSQL
 * replicas may keep running, as long as their config already lists the old
 * key in `previousKeys`.
 */
export async function rekeyStore(loaded: LoadedConfig, logger: Logger): Promise<ResealCount> {
  const { secrets, store: storeConfig } = loaded.config;
  const lock = storeConfig.postgres ? undefined : lockDataDir(loaded.dataDir);
  try {
    const { store } = await openStore(loaded, logger);
    try {
      const count = await resealSecrets(store, createSecretBox(secrets.key, secrets.previousKeys));
      logger.info(count, "rekey: every secret is sealed with secrets.key; secrets.previousKeys can go");
      return count;
    } finally {
      await store.close();
    }
  } finally {
    lock?.release();
  }
}
