import { startKafka } from "@plinth/testing";
import { it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { createPulumiEngine } from "../../src/engine/pulumi/create-pulumi-engine.ts";
import { createAdmin, engineDataDir, partitionsOnBroker, topicRequest } from "./support/engine-fixture.ts";

it("adopt", async () => {
  const broker = await startKafka();
  const admin = createAdmin(broker.bootstrapServers);
  const dataDir = engineDataDir();
  const engine = createPulumiEngine({ dataDir, passphrase: "adopt-passphrase" });
  const settings = { bootstrapServers: broker.bootstrapServers };
  for (const deleteIt of [true, false]) {
    const name = `ghost-${deleteIt}`;
    await engine.apply(topicRequest(name, { partitions: 2 }, settings));
    const file = `${dataDir}/pulumi/.pulumi/stacks/plinth/test.topic--${name}.json`;
    const state = JSON.parse(readFileSync(file, "utf8"));
    const d = state.checkpoint.latest;
    const topic = d.resources.find((r: { type: string }) => r.type === "kafka:index/topic:Topic");
    d.resources = d.resources.filter((r: unknown) => r !== topic);
    d.pending_operations = [{ resource: { ...topic, id: "", outputs: {} }, type: "creating" }];
    writeFileSync(file, JSON.stringify(state));
    if (deleteIt) await admin.deleteTopics({ topics: [name] });
    console.log(name, "before retry", await partitionsOnBroker(admin, name));
    const retry = topicRequest(name, { partitions: 2 }, settings);
    await engine.apply(retry).then(
      () => console.log("OK"),
      (e) => console.log("ERR", e.code, e.message),
    );
    console.log(
      retry.events
        .filter((e) => e.kind !== "resource")
        .map((e) => e.message + JSON.stringify(e.details))
        .join("\n"),
    );
    console.log(name, "after retry", await partitionsOnBroker(admin, name));
  }
  await engine.close();
  await admin.close();
  await broker.stop();
});
