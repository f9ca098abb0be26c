import { spawn } from "node:child_process";
import { Code } from "@connectrpc/connect";
import { join } from "node:path";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { freePort } from "@plinth/testing";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseServiceConfig, startPlinthService } from "../../src/index.ts";
import { PluginLoadError } from "../../src/plugin/load-plugins.ts";
import { failure } from "../support/connect-helpers.ts";
import { createFakeEngine } from "../support/fake-engine.ts";
import { type TestService, clientsFor, principals, startTestService, testConfig } from "../support/test-service.ts";

const support = join(import.meta.dirname, "../support");
// The server as an installation runs it: its bin, from a working folder of its own.
const serverBin = join(import.meta.dirname, "../../bin/plinth-server.js");
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

describe("plugins named by package", () => {
  it("load from the server's own installation when the config lives outside the checkout", async () => {
    // As an operator's /etc/plinth/plinth.yaml: a folder with no node_modules anywhere above it.
    const etc = mkdtempSync(join(tmpdir(), "plinth-etc-"));
    const config = join(etc, "plinth.yaml");
    const kafkaPort = await freePort();
    writeFileSync(
      config,
      JSON.stringify(
        testConfig(join(etc, "data"), {
          reconcile: { intervalMs: 0 },
          plugins: [
            {
              module: "@plinth/plugin-kafka",
              export: "kafkaTopic",
              settings: { clusters: { local: { bootstrapServers: [`127.0.0.1:${kafkaPort}`] } } },
            },
          ],
        }),
      ),
    );
    const server = spawn(process.execPath, [serverBin, "--config", config], {
      cwd: etc,
      // pnpm's NODE_PATH (set for the test run) would find any workspace package from anywhere.
      env: { ...process.env, NODE_PATH: "", PLINTH_PORT: "0", PLINTH_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    server.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => server.once("exit", resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        server.stdout.on("data", (chunk: Buffer) => {
          const serving = /serving on (\S+)/.exec(chunk.toString());
          if (serving) resolve(serving[1]!);
        });
        void exited.then((code) => reject(new Error(`the server exited with ${code}: ${output}`)));
      });
      const plugins = await clientsFor(url, principals.requester.token).plugins.listPlugins({});
      expect(plugins.plugins.map((plugin) => plugin.type)).toEqual(["kafka.topic"]);
    } finally {
      server.kill("SIGTERM");
      await exited;
      rmSync(etc, { recursive: true, force: true });
    }
  });

  it("that is not installed stops the start, naming every place looked in", async () => {
    const outcome = await start({ plugins: [{ module: "@plinth/plugin-nowhere", export: "x" }] }).catch(
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(PluginLoadError);
    expect((outcome as Error).message).toMatch(
      /plugins\[0\].*package @plinth\/plugin-nowhere is not installed; looked in \S*plinth-config-\S*\/node_modules .* and in \S*packages\/core\/src\/plugin\/node_modules/,
    );
  });
});
