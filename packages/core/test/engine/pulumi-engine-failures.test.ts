import type { Admin } from "@platformatic/kafka";
import { type KafkaBroker, startKafka } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPulumiEngine } from "../../src/engine/pulumi/create-pulumi-engine.ts";
import { type Engine, EngineError } from "../../src/index.ts";
import {
  createAdmin,
  engineDataDir,
  partitionsOnBroker,
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
