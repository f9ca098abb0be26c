import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { Writable } from "node:stream";
import {
  createLogger,
  createPulumiEngine,
  parseServiceConfig,
  startPlinthService,
  type Engine,
  type JsonObject,
} from "@plinth/core";
import { createPlinthClient, type PlinthClient } from "@plinth/sdk";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { scratchDir } from "../scratch-dir.ts";
import { backendText } from "./backend-text.ts";
import { postgresRowsText, pulumiBackendConnection, pulumiBackendRowsText } from "./stored-rows.ts";

const isPostgresUrl = (url: string) => /^postgres(ql)?:\/\//.test(url);
import type { JsonRecord, TestPrincipal, TestService, TestServiceOptions } from "./types.ts";

/** The engine's operation timeout unless `engineTimeoutMs` says otherwise. */
export const defaultEngineTimeoutMs = 120_000;

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
export const testServiceDefaults: JsonRecord = {
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
  // The default reviewers are platform's: they review every team's changes, as a platform team's would.
  review: { platformTeams: ["platform"] },
};

const tokenOf = (principal: TestPrincipal) => principal.token ?? `token-${principal.id}`;

/** The test defaults with `overrides` merged one level deep, as `createTestService` applies them. */
export function mergeOneLevel(base: JsonRecord, overrides: JsonRecord): JsonRecord {
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
      ...testServiceDefaults,
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
  // Every line is kept at debug level (the contract suite scans them for secrets);
  // PLINTH_TEST_LOG=<level> also prints them.
  const logLines: string[] = [];
  const echo = process.env.PLINTH_TEST_LOG;
  const logger = createLogger({
    level: options.logLevel ?? "debug",
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        const line = chunk.toString();
        logLines.push(line);
        if (echo && echo !== "silent") process.stderr.write(line);
        done();
      },
    }),
  });
  let service: Awaited<ReturnType<typeof startPlinthService>>;
  let engine: Engine | undefined;
  const generated: Array<{ type: string; name: string; changeId: string; value: string }> = [];
  let loaded: ReturnType<typeof parseServiceConfig>;
  try {
    loaded = parseServiceConfig(raw, dataDir);
    service = await startPlinthService(loaded, {
      createEngine: ({ config }) => {
        engine = createPulumiEngine({
          dataDir,
          ...(config.engine.backendUrl === undefined ? {} : { backendUrl: config.engine.backendUrl }),
          passphrase: config.engine.passphrase,
          concurrency: 2,
          timeoutMs: options.engineTimeoutMs ?? defaultEngineTimeoutMs,
          logger,
          onGeneratedSecrets: (values, request) => {
            for (const value of values)
              generated.push({ type: request.type, name: request.name, changeId: request.changeId, value });
          },
        });
        return engine;
      },
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
    logs: () => logLines.join(""),
    generatedSecrets: (filter = {}) =>
      generated
        .filter(
          (entry) =>
            (filter.type === undefined || entry.type === filter.type) &&
            (filter.name === undefined || entry.name === filter.name),
        )
        .map((entry) => entry.value),
    async pulumiStateText() {
      const backendUrl = loaded.config.engine.backendUrl;
      if (backendUrl === undefined || backendUrl.startsWith("file://")) {
        return backendText(backendUrl ? fileURLToPath(backendUrl.split("?")[0]!) : join(dataDir, "pulumi"));
      }
      if (isPostgresUrl(backendUrl)) return await pulumiBackendRowsText(backendUrl);
      throw new Error(
        `the test service cannot read the Pulumi backend ${new URL(backendUrl).protocol} for the secret scan`,
      );
    },
    async storeText() {
      const postgres = loaded.config.store.postgres;
      if (!postgres) return "";
      // A Pulumi backend in the same database is searched as the Pulumi state, decoded.
      const backendUrl = loaded.config.engine.backendUrl;
      const backendTable = backendUrl && isPostgresUrl(backendUrl) ? [pulumiBackendConnection(backendUrl).table] : [];
      return await postgresRowsText(
        "url" in postgres
          ? { connectionString: postgres.url }
          : {
              host: postgres.host,
              port: postgres.port,
              database: postgres.database,
              user: postgres.user,
              ...(postgres.passwordEnv === undefined ? {} : { password: process.env[postgres.passwordEnv] }),
            },
        backendTable,
      );
    },
    async enginePreview(type, name, resolvedSpec) {
      const plugin = service.plugins.get(type);
      if (!plugin || !engine) throw new Error(`the test service has no plugin for ${type}`);
      return await engine.preview({
        stackName: `${type}--${name}`,
        type,
        name,
        plugin: plugin.ref,
        settings: plugin.settingsJson,
        resolvedSpec: resolvedSpec as JsonObject,
        changeId: `contract-preview-${Date.now()}`,
        kind: "UPDATE",
        attempt: 0,
        refresh: true,
      });
    },
    async close() {
      await service.close();
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
