import { availableParallelism, totalmem } from "node:os";
import { describe, expect, it } from "vitest";
import { defaultEngineConcurrency } from "../../src/engine/pulumi/default-engine-concurrency.ts";
import { ConfigError, parseServiceConfig } from "../../src/index.ts";
import { testConfig } from "../support/test-service.ts";

const gib = 2 ** 30;
const parse = (overrides: Record<string, unknown>) => parseServiceConfig(testConfig("/tmp/unused", overrides), "/tmp");

describe("engine concurrency fits the machine", () => {
  it.each([
    { machine: "2 cores, 24 GiB (this project's): two per core", cores: 2, memoryBytes: 24 * gib, slots: 4 },
    { machine: "16 cores, 4 GiB: memory caps it", cores: 16, memoryBytes: 4 * gib, slots: 2 },
    { machine: "1 core, 512 MiB: never below 1", cores: 1, memoryBytes: gib / 2, slots: 1 },
    { machine: "8 cores, 64 GiB: two per core", cores: 8, memoryBytes: 64 * gib, slots: 16 },
    { machine: "8 cores, 8 GiB: memory caps it", cores: 8, memoryBytes: 8 * gib, slots: 5 },
    { machine: "128 cores, 1 TiB: at most 32", cores: 128, memoryBytes: 1024 * gib, slots: 32 },
  ])("$machine: $slots slots", ({ cores, memoryBytes, slots }) => {
    expect(defaultEngineConcurrency({ cores, memoryBytes })).toBe(slots);
  });

  it("is the default of engine.concurrency, which worker.concurrency follows", () => {
    const { config } = parse({});
    const expected = defaultEngineConcurrency({ cores: availableParallelism(), memoryBytes: totalmem() });
    expect(config.engine.concurrency).toBe(expected);
    expect(config.worker.concurrency).toBe(expected);
    expect(config.engine.operationsPerChild).toBe(25);
  });

  it("a config value overrides it, and the worker's own value overrides the worker's", () => {
    const engine = { passphrase: "test-passphrase", concurrency: 5, operationsPerChild: 3 };
    expect(parse({ engine }).config.engine).toMatchObject({ concurrency: 5, operationsPerChild: 3 });
    expect(parse({ engine }).config.worker.concurrency).toBe(5);
    expect(parse({ engine, worker: { concurrency: 1 } }).config.worker.concurrency).toBe(1);
  });

  it.each([
    { field: "concurrency", value: 0, says: /^engine\.concurrency:/ },
    { field: "concurrency", value: 33, says: /^engine\.concurrency:/ },
    { field: "operationsPerChild", value: 0, says: /^engine\.operationsPerChild:/ },
  ])("refuses engine.$field = $value", ({ field, value, says }) => {
    expect(() => parse({ engine: { passphrase: "test-passphrase", [field]: value } })).toThrow(ConfigError);
    expect(() => parse({ engine: { passphrase: "test-passphrase", [field]: value } })).toThrow(says);
  });
});
