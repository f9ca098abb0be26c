import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, parseServiceConfig, startPlinthService } from "../../src/index.ts";
import { PluginLoadError } from "../../src/plugin/load-plugins.ts";
import { createFakeEngine } from "../support/fake-engine.ts";
import { testConfig } from "../support/test-service.ts";

const support = join(import.meta.dirname, "../support");
const dir = mkdtempSync(join(tmpdir(), "plinth-shared-settings-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const instances = {
  main: { host: "db.internal", port: 5432, adminUser: "plinth", database: "postgres" },
  replica: { host: "db2.internal", port: 5433, adminUser: "plinth", database: "postgres" },
};
const parse = (config: Record<string, unknown>) => parseServiceConfig(testConfig(dir, config), dir).config;

describe("shared plugin settings", () => {
  it("gives several plugins one section written once, wherever their settings refer to it", () => {
    const config = parse({
      sharedSettings: { "postgres-instances": instances, endpoint: "https://widgets.internal" },
      plugins: [
        { module: "./a.ts", export: "database", settings: { instances: { $shared: "postgres-instances" } } },
        {
          module: "./b.ts",
          export: "role",
          settings: { instances: { $shared: "postgres-instances" }, rotationDays: 30 },
        },
        { module: "./c.ts", export: "all", settings: { $shared: "postgres-instances" } },
      ],
    });
    expect(config.plugins.map((plugin) => plugin.settings)).toEqual([
      { instances },
      { instances, rotationDays: 30 },
      instances,
    ]);
    // Copies: a plugin that changed its settings object would not change another's.
    expect(config.plugins[0]!.settings.instances).not.toBe(config.plugins[1]!.settings.instances);
  });

  it("hands the section to the plugin's own settings schema at start", async () => {
    const start = (endpoint: string) =>
      startPlinthService(
        parseServiceConfig(
          testConfig(dir, {
            sharedSettings: { widgets: { endpoint } },
            plugins: [
              {
                module: join(support, "broken-plugins.ts"),
                export: "strictSettings",
                settings: { $shared: "widgets" },
              },
            ],
          }),
          dir,
        ),
        { createEngine: () => createFakeEngine(), logger: pino({ level: "silent" }) },
      );
    const refused = await start("not a url").catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PluginLoadError);
    expect((refused as Error).message).toMatch(/strictSettings.*settings\.endpoint/);
    const service = await start("https://widgets.internal");
    await service.close();
  });

  it.each([
    {
      reason: "a name that is no section",
      config: {
        sharedSettings: { "postgres-instances": instances },
        plugins: [{ module: "./a.ts", export: "a", settings: { instances: { $shared: "postgres-instance" } } }],
      },
      says: /^plugins\.0\.settings\.instances: \$shared "postgres-instance" names no section of sharedSettings \(known: postgres-instances\)$/,
    },
    {
      reason: "a reference without any sections",
      config: {
        plugins: [
          { module: "./a.ts", export: "a" },
          { module: "./b.ts", export: "b", settings: { clusters: [{ $shared: "kafka" }] } },
        ],
      },
      says: /^plugins\.1\.settings\.clusters\.0: \$shared "kafka" names no section of sharedSettings \(there are none\)$/,
    },
    {
      reason: "a reference with other keys beside it",
      config: {
        sharedSettings: { pg: instances },
        plugins: [{ module: "./a.ts", export: "a", settings: { instances: { $shared: "pg", extra: 1 } } }],
      },
      says: /^plugins\.0\.settings\.instances: a \$shared reference has no other keys \(found extra\)$/,
    },
    {
      reason: "a name that is not a string",
      config: {
        sharedSettings: { pg: instances },
        plugins: [{ module: "./a.ts", export: "a", settings: { instances: { $shared: 3 } } }],
      },
      says: /^plugins\.0\.settings\.instances: \$shared 3 names no section/,
    },
    {
      reason: "whole settings that are no object",
      config: {
        sharedSettings: { hosts: ["a", "b"] },
        plugins: [{ module: "./a.ts", export: "a", settings: { $shared: "hosts" } }],
      },
      says: /^plugins\.0\.settings: the shared section it names is not an object of settings$/,
    },
    {
      reason: "a section that refers to another",
      config: {
        sharedSettings: { pg: instances, all: { pg: { $shared: "pg" } } },
        plugins: [{ module: "./a.ts", export: "a", settings: { $shared: "all" } }],
      },
      says: /^sharedSettings\.all\.pg: a shared section cannot refer to another/,
    },
  ])("refuses $reason with a config error naming its path", ({ config, says }) => {
    expect(() => parse(config)).toThrow(ConfigError);
    expect(() => parse(config)).toThrow(says);
  });
});
