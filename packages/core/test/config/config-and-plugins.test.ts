import { Code } from "@connectrpc/connect";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseServiceConfig, startPlinthService } from "../../src/index.ts";
import { PluginLoadError } from "../../src/plugin/load-plugins.ts";
import { failure } from "../support/connect-helpers.ts";
import { createFakeEngine } from "../support/fake-engine.ts";
import { type TestService, startTestService, testConfig } from "../support/test-service.ts";

const support = join(import.meta.dirname, "../support");
const start = async (config: Record<string, unknown>) => {
  const dir = mkdtempSync(join(tmpdir(), "plinth-config-"));
  return await startPlinthService(parseServiceConfig(testConfig(dir, config), dir), {
    createEngine: () => createFakeEngine(),
    logger: pino({ level: "silent" }),
  });
};

describe("a bad config stops the start with one message", () => {
  it.each([
    { reason: "unknown top-level key", config: { colour: "blue" }, says: /colour/ },
    { reason: "port out of range", config: { listen: { port: 70000 } }, says: /^listen\.port:/ },
    {
      reason: "token that is not a hash",
      config: { principals: [{ id: "a", team: "t", roles: ["admin"], tokenSha256: "secret" }] },
      says: /^principals\.0\.tokenSha256:/,
    },
    {
      reason: "unknown role",
      config: { principals: [{ id: "a", team: "t", roles: ["god"], tokenSha256: "0".repeat(64) }] },
      says: /^principals\.0\.roles\.0:/,
    },
    {
      reason: "two principals with one id",
      config: {
        principals: [
          { id: "a", team: "t", roles: ["admin"], tokenSha256: "0".repeat(64) },
          { id: "a", team: "u", roles: ["requester"], tokenSha256: "1".repeat(64) },
        ],
      },
      says: /^principals\.1\.id: duplicate of principals\[0\]\.id/,
    },
    {
      reason: "two principals with one token",
      config: {
        principals: [
          { id: "a", team: "t", roles: ["admin"], tokenSha256: "0".repeat(64) },
          { id: "b", team: "u", roles: ["requester"], tokenSha256: "0".repeat(64) },
        ],
      },
      says: /^principals\.1\.tokenSha256: duplicate of principals\[0\]\.tokenSha256/,
    },
    {
      reason: "a TLS key file that cannot be read",
      config: { listen: { port: 0, tls: { certFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem" } } },
      says: /^listen\.tls\.certFile: cannot read/,
    },
    { reason: "unknown connection limit", config: { listen: { limits: { maxSockets: 1 } } }, says: /^listen\.limits/ },
    {
      reason: "PostgreSQL store URL of another kind",
      config: { store: { postgres: { url: "mysql://db/plinth" } } },
      says: /^store\.postgres/,
    },
    {
      reason: "PostgreSQL password variable that is not set",
      config: {
        store: {
          postgres: {
            host: "127.0.0.1",
            database: "plinth",
            user: "plinth",
            passwordEnv: "PLINTH_TEST_UNSET_PASSWORD",
          },
        },
      },
      says: /^store\.postgres\.passwordEnv: environment variable PLINTH_TEST_UNSET_PASSWORD is not set/,
    },
  ])("$reason", async ({ config, says }) => {
    const outcome = await start(config).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(ConfigError);
    expect((outcome as Error).message).toMatch(says);
  });

  it.each([
    { reason: "missing module", plugin: { module: "./nowhere.ts", export: "x" }, says: /plugins\[0\].*cannot import/ },
    {
      reason: "export that is not a plugin",
      plugin: { module: join(support, "broken-plugins.ts"), export: "nothing" },
      says: /not a plugin/,
    },
    {
      reason: "settings the plugin's schema refuses",
      plugin: {
        module: join(support, "broken-plugins.ts"),
        export: "strictSettings",
        settings: { endpoint: "not a url" },
      },
      says: /test\.settings|strictSettings.*settings\.endpoint/,
    },
  ])("plugin: $reason", async ({ plugin, says }) => {
    const outcome = await start({ plugins: [plugin] }).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(PluginLoadError);
    expect((outcome as Error).message).toMatch(says);
  });
});

describe("a plugin with a bug", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({
      config: {
        plugins: [
          { module: join(support, "widget-plugin.ts"), export: "widgetPlugin" },
          { module: join(support, "broken-plugins.ts"), export: "throwingDefaults" },
          { module: join(support, "broken-plugins.ts"), export: "malformedReview" },
        ],
      },
    });
  });
  afterAll(async () => {
    await service?.close();
  });

  it.each([
    { type: "test.throws", plugin: "test.throws" },
    { type: "test.malformed", plugin: "test.malformed" },
  ])(
    "fails the request with INTERNAL naming $plugin, writes nothing, and the service goes on",
    async ({ type, plugin }) => {
      const alice = service.as("requester");
      const outcome = await failure(
        alice.resources.applyResource({ type, name: "x", spec: { size: 1 }, requestId: `${type}-1` }),
      );
      expect(outcome.code).toBe(Code.Internal);
      expect(outcome.message).toContain(plugin);
      expect((await alice.changes.listChanges({ type })).changes).toEqual([]);
      const healthy = await alice.resources.applyResource({
        type: "test.widget",
        name: `after-${type}`,
        spec: { size: 1 },
      });
      expect(healthy.change).toBeDefined();
    },
  );
});
