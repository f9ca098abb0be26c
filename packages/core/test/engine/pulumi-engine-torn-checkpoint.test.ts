import { existsSync, truncateSync } from "node:fs";
import { join } from "node:path";
import type { Admin } from "@platformatic/kafka";
import { type KafkaBroker, startKafka } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPulumiEngine } from "../../src/engine/pulumi/create-pulumi-engine.ts";
import type { Engine } from "../../src/index.ts";
import { createAdmin, engineDataDir, partitionsOnBroker, topicRequest } from "./support/engine-fixture.ts";

// A SIGKILL while the file backend writes a checkpoint leaves it empty
// ("failed to load checkpoint: EOF"); seen once in a full run under load.
describe("Pulumi engine: a checkpoint cut short by a crash", () => {
  let broker: KafkaBroker;
  let admin: Admin;
  let engine: Engine;
  const dataDir = engineDataDir();
  beforeAll(async () => {
    broker = await startKafka();
    admin = createAdmin(broker.bootstrapServers);
    engine = createPulumiEngine({ dataDir, passphrase: "torn-checkpoint-passphrase" });
  });
  afterAll(async () => {
    await engine?.close();
    await admin?.close();
    await broker?.stop();
  });

  it("is restored from its backup, and the next apply converges", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    await engine.apply(topicRequest("torn", { partitions: 2 }, settings));
    truncateSync(join(dataDir, "pulumi/.pulumi/stacks/plinth/test.topic--torn.json"), 0);

    const retry = topicRequest("torn", { partitions: 3 }, settings, { kind: "UPDATE", attempt: 2 });
    const result = await engine.apply(retry);
    expect(result.outputs).toEqual({ topicName: "torn", partitions: 3 });
    expect(await partitionsOnBroker(admin, "torn")).toBe(3);
    expect(retry.events.map((event) => event.message).join("\n")).toContain("restored a checkpoint");
  });

  // The file backend writes each file's metadata (".attrs") in place, after the file: a SIGKILL in between leaves
  // it empty and every later command fails with the same "failed to load checkpoint: EOF" (seen in a full run).
  it("loses an empty metadata file left beside a whole checkpoint, and the next apply converges", async () => {
    const settings = { bootstrapServers: broker.bootstrapServers };
    await engine.apply(topicRequest("torn-attrs", { partitions: 2 }, settings));
    const attrs = join(dataDir, "pulumi/.pulumi/stacks/plinth/test.topic--torn-attrs.json.attrs");
    expect(existsSync(attrs)).toBe(true);
    truncateSync(attrs, 0);

    const retry = topicRequest("torn-attrs", { partitions: 3 }, settings, { kind: "UPDATE", attempt: 2 });
    const result = await engine.apply(retry);
    expect(result.outputs).toEqual({ topicName: "torn-attrs", partitions: 3 });
    expect(await partitionsOnBroker(admin, "torn-attrs")).toBe(3);
    expect(retry.events.map((event) => event.message).join("\n")).toContain("removed metadata files");
  });
});
