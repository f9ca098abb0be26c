import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, createPulumiEngine, parseServiceConfig, sha256Hex, startPlinthService } from "@plinth/core";
import { type PlinthClient, createPlinthClient } from "@plinth/sdk";

/** The plugin module as the service config names it: loaded through tsx, like `make start` does. */
export const pluginModule = join(import.meta.dirname, "../../src/index.ts");

const principals = {
  requester: { id: "alice", team: "payments", roles: ["requester"] },
  outsider: { id: "olga", team: "search", roles: ["requester"] },
  reviewer: { id: "rita", team: "platform", roles: ["reviewer"] },
  admin: { id: "ada", team: "platform", roles: ["admin"] },
} as const;
export type PrincipalName = keyof typeof principals;

export interface PostgresService {
  url: string;
  dataDir: string;
  client(principal: PrincipalName): PlinthClient;
  close(): Promise<void>;
}

/**
 * A real Plinth server for these tests: the postgres plugin loaded by path
 * with `settings`, a fresh SQLite store, the real Pulumi engine, fast worker
 * timings. (The same shape as @plinth/testing's createTestService, which
 * can replace it.)
 */
export async function startPostgresService(
  settings: Record<string, unknown>,
  overrides: Record<string, unknown> = {},
): Promise<PostgresService> {
  const parent = process.env.PLINTH_TEST_TMP ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const dataDir = mkdtempSync(join(parent, "plugin-postgres-service-"));
  const config = parseServiceConfig(
    {
      listen: { host: "127.0.0.1", port: 0 },
      dataDir,
      engine: { passphrase: "plugin-postgres-test-passphrase" },
      secrets: { key: "plugin-postgres-test-secret-key-0123" },
      principals: Object.values(principals).map((principal) => ({
        ...principal,
        roles: [...principal.roles],
        tokenSha256: sha256Hex(`token-${principal.id}`),
      })),
      worker: {
        leaseMs: 3_000,
        pollMs: 100,
        retryBaseMs: 200,
        retryMaxMs: 1_000,
        maxAttempts: 5,
        verifyTimeoutMs: 30_000,
      },
      reconcile: { intervalMs: 0 },
      plugins: [{ module: pluginModule, export: "postgresDatabase", settings }],
      ...overrides,
    },
    dataDir,
  );
  const service = await startPlinthService(config, {
    createEngine: ({ config: loaded }) =>
      createPulumiEngine({ dataDir, passphrase: loaded.engine.passphrase, concurrency: 2, timeoutMs: 120_000 }),
    logger: createLogger({ level: process.env.PLINTH_TEST_LOG ?? "silent" }),
  });
  const clients = new Map(
    Object.entries(principals).map(([name, principal]) => [
      name,
      createPlinthClient({ baseUrl: service.url, token: `token-${principal.id}` }),
    ]),
  );
  return {
    url: service.url,
    dataDir,
    client: (principal) => clients.get(principal)!,
    async close() {
      await service.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
