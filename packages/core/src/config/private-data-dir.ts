import { chmodSync, mkdirSync } from "node:fs";

/**
 * Creates the data dir (the store, the secrets it holds sealed, Pulumi's
 * state and work dirs) readable by the service's user only, and narrows an
 * existing one: 0700. Files inside get 0600 from the process umask (main.ts).
 */
export function ensurePrivateDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
}
