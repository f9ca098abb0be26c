import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { createLogger, createPulumiEngine, parseServiceConfig, startPlinthService } from "@plinth/core";
import { createPlinthClient, type PlinthClient } from "@plinth/sdk";
import { scratchDir } from "../scratch-dir.ts";
import type { JsonRecord, TestPrincipal, TestService, TestServiceOptions } from "./types.ts";

/** The callers every test service knows unless told otherwise. */
export const defaultPrincipals: Record<string, TestPrincipal> = {
  requester: { id: "alice", team: "payments", roles: ["requester"] },
  teammate: { id: "amir", team: "payments", roles: ["requester"] },
  outsider: { id: "olga", team: "search", roles: ["requester"] },
  reviewer: { id: "rita", team: "platform", roles: ["reviewer"] },
  reviewer2: { id: "raj", team: "platform", roles: ["reviewer"] },
  admin: { id: "ada", team: "platform", roles: ["admin"] },
};

// Fast enough for tests, patient enough for a real broker or database.
const testDefaults: JsonRecord = {
  listen: { host: "127.0.0.1", port: 0 },
  engine: { passphrase: "plinth-test-passphrase" },
  secrets: { key: "plinth-test-secret-key-0123456789" },
  worker: {
    leaseMs: 3_000,
    pollMs: 100,
    retryBaseMs: 200,
    retryMaxMs: 1_000,
    maxAttempts: 5,
    verifyTimeoutMs: 30_000,
  },
  reconcile: { intervalMs: 0 },
};

const tokenOf = (principal: TestPrincipal) => principal.token ?? `token-${principal.id}`;

function mergeOneLevel(base: JsonRecord, overrides: JsonRecord): JsonRecord {
  const merged: JsonRecord = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const before = merged[key];
    const bothObjects =
      value && typeof value === "object" && !Array.isArray(value) && before && typeof before === "object";
    merged[key] = bothObjects ? { ...(before as JsonRecord), ...(value as JsonRecord) } : value;
  }
  return merged;
}

/**
 * Starts a real Plinth server for a test: the plugins loaded by module path
 * through tsx as `plinth start` loads them, a fresh SQLite store, the real
 * Pulumi engine (state in the data directory), and one SDK client per
 * principal. `close()` stops it and removes what it made.
 */
export async function createTestService(options: TestServiceOptions): Promise<TestService> {
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? scratchDir("plinth-service");
  const principals = options.principals ?? defaultPrincipals;
  const raw = mergeOneLevel(
    {
      ...testDefaults,
      dataDir,
      principals: Object.values(principals).map((principal) => ({
        id: principal.id,
        team: principal.team,
        roles: principal.roles,
        tokenSha256: createHash("sha256").update(tokenOf(principal)).digest("hex"),
      })),
      plugins: options.plugins.map((entry) => ({
        module: entry.module,
        export: entry.export,
        settings: entry.settings ?? {},
      })),
    },
    options.settings ?? {},
  );
  const logger = createLogger({ level: options.logLevel ?? process.env.PLINTH_TEST_LOG ?? "silent" });
  let service: Awaited<ReturnType<typeof startPlinthService>>;
  try {
    service = await startPlinthService(parseServiceConfig(raw, dataDir), {
      createEngine: ({ config }) =>
        createPulumiEngine({
          dataDir,
          passphrase: config.engine.passphrase,
          concurrency: 2,
          timeoutMs: options.engineTimeoutMs ?? 120_000,
        }),
      logger,
    });
  } catch (error) {
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const clients: Record<string, PlinthClient> = Object.fromEntries(
    Object.entries(principals).map(([name, principal]) => [
      name,
      createPlinthClient({ baseUrl: service.url, token: tokenOf(principal) }),
    ]),
  );
  return {
    url: service.url,
    port: service.port,
    dataDir,
    clients,
    client(name) {
      const client = clients[name];
      if (!client) throw new Error(`no principal "${name}"; known: ${Object.keys(clients).join(", ")}`);
      return client;
    },
    async close() {
      await service.close();
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
