import type { Admin } from "@platformatic/kafka";
import { type KafkaBroker, startKafka } from "@plinth/testing";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPulumiEngine } from "../../src/engine/pulumi/create-pulumi-engine.ts";
import { processIsAlive } from "../../src/engine/pulumi/stack-locks.ts";
import { type Engine, EngineError } from "../../src/index.ts";
import {
  createAdmin,
  engineDataDir,
  partitionsOnBroker,
  processesUsing,
  throwingRequest,
  topicRequest,
} from "./support/engine-fixture.ts";

const passphrase = "failures-test-passphrase";

async function engineError(promise: Promise<unknown>): Promise<EngineError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(EngineError);
  return error as EngineError;
}

describe("Pulumi engine failures are classified", () => {
  let broker: KafkaBroker;
  let admin: Admin;
  let engine: Engine;
  beforeAll(async () => {
    broker = await startKafka();
    admin = createAdmin(broker.bootstrapServers);
    engine = createPulumiEngine({ dataDir: engineDataDir(), passphrase });
  });
  afterAll(async () => {
    await engine?.close();
    await admin?.close();
    await broker?.stop();
  });

  it("a plugin program that throws fails for good, names the plugin, and leaves the engine working", async () => {
    const error = await engineError(engine.apply(throwingRequest("broken")));
    expect(error).toMatchObject({ code: "PLUGIN_FAILED", retryable: false });
    expect(error.message).toContain("test.throwing");
    expect(error.message).toContain("throwingPlugin");
    expect(error.message).not.toContain(passphrase);

    const previewError = await engineError(engine.preview(throwingRequest("broken")));
    expect(previewError).toMatchObject({ code: "PLUGIN_FAILED", retryable: false });

    const settings = { bootstrapServers: broker.bootstrapServers };
    const result = await engine.apply(topicRequest("after-a-throw", { partitions: 1 }, settings));
    expect(result.outputs.topicName).toBe("after-a-throw");
    expect(await partitionsOnBroker(admin, "after-a-throw")).toBe(1);
  });

  it("a silent server's engine child stops its Pulumi CLI after the silence, even while a program blocks the child's main thread", async () => {
    const dataDir = engineDataDir();
    const children: number[] = [];
    const unheard = createPulumiEngine({
      dataDir,
      passphrase,
      parentSilenceMs: 2_000,
      killGraceMs: 1_000,
      onChild: (event) => event.phase === "assigned" && children.push(event.pid),
    });
    const startedFile = join(dataDir, "program-started");
    try {
      const applying = unheard
        .apply({
          stackName: "test.busy--blocked",
          type: "test.busy",
          name: "blocked",
          plugin: { module: new URL("./fixtures/busy-plugin.ts", import.meta.url).href, exportName: "busyPlugin" },
          settings: {},
          resolvedSpec: { startedFile, busyMs: 300_000 },
          changeId: "change-blocked",
          kind: "CREATE",
          attempt: 1,
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      await waitFor(async () => expect(existsSync(startedFile)).toBe(true), {
        what: "the program blocks the child",
        timeoutMs: 120_000,
      });
      const cli = processesUsing(dataDir);
      expect(cli.length).toBeGreaterThan(0);
      // This process, the server, goes silent as a paused one would: no heartbeat is sent for 8 s, four silences.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 8_000);
      // The CLI (interrupted, then killed after its grace) and the child are gone, minutes before the program ends.
      await waitFor(async () => expect([...cli, ...children].filter(processIsAlive)).toEqual([]), {
        what: "the CLI and the child stopped",
        timeoutMs: 30_000,
      });
      expect(await applying).toBeInstanceOf(EngineError);
    } finally {
      await unheard.close();
    }
  });

  it("a plugin module that does not load fails for good, naming the plugin", async () => {
    const request = throwingRequest("missing");
    const error = await engineError(
      engine.apply({ ...request, plugin: { ...request.plugin, exportName: "noSuchPlugin" } }),
    );
    expect(error).toMatchObject({ code: "PLUGIN_FAILED", retryable: false });
    expect(error.message).toContain("noSuchPlugin");
  });

  it("a stopped broker is a retryable TARGET_UNREACHABLE within seconds; the apply succeeds once it is back", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers, timeoutSeconds: 5 };
    await broker.halt();
    try {
      const started = Date.now();
      const error = await engineError(engine.apply(topicRequest("during-outage", { partitions: 1 }, settings)));
      expect(error).toMatchObject({ code: "TARGET_UNREACHABLE", retryable: true });
      expect(error.message).toContain("test.topic");
      expect(Date.now() - started).toBeLessThan(60_000);
    } finally {
      await broker.resume();
    }
    const result = await engine.apply(topicRequest("during-outage", { partitions: 1 }, settings));
    expect(result.outputs.topicName).toBe("during-outage");
    expect(await partitionsOnBroker(admin, "during-outage")).toBe(1);
  });
});
