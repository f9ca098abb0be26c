import { startKafka } from "@plinth/testing";
import { it } from "vitest";
import { join } from "node:path";
import { LocalWorkspace } from "@pulumi/pulumi/automation/index.js";
import { createPulumiEngine } from "../../src/engine/pulumi/create-pulumi-engine.ts";
import { createAdmin, engineDataDir, partitionsOnBroker, topicRequest } from "./support/engine-fixture.ts";

it("adopt", async () => {
  const broker = await startKafka();
  const admin = createAdmin(broker.bootstrapServers);
  const dataDir = engineDataDir();
  const engine = createPulumiEngine({ dataDir, passphrase: "adopt-passphrase" });
  const settings = { bootstrapServers: broker.bootstrapServers };
  await engine.apply(topicRequest("ghost", { partitions: 2 }, settings));
  // Fabricate: the topic's create is pending, and it never reached the broker.
  const stack = await LocalWorkspace.selectStack(
    { projectName: "plinth", stackName: "test.topic--ghost", program: async () => ({}) },
    {
      workDir: join(dataDir, "pulumi-work", "test.topic--ghost"),
      envVars: {
        PULUMI_CONFIG_PASSPHRASE: "adopt-passphrase",
        PULUMI_BACKEND_URL: `file://${dataDir}/pulumi`,
        PULUMI_HOME: process.env.HOME + "/.cache/plinth/pulumi-home",
      },
    },
  );
  const state = await stack.exportStack();
  const topic = state.deployment.resources.find((r: { type: string }) => r.type === "kafka:index/topic:Topic");
  state.deployment.resources = state.deployment.resources.filter((r: { type: string }) => r !== topic);
  state.deployment.pending_operations = [{ resource: { ...topic, id: "", outputs: {} }, type: "creating" }];
  await stack.importStack(state);
  await admin.deleteTopics({ topics: ["ghost"] });
  console.log("before retry", await partitionsOnBroker(admin, "ghost"));
  const retry = topicRequest("ghost", { partitions: 2 }, settings);
  await engine.apply(retry).then(
    () => console.log("OK"),
    (e) => console.log("ERR", e.code, e.message),
  );
  console.log(
    retry.events
      .filter((e) => e.kind !== "resource")
      .map((e) => e.message)
      .join("\n"),
  );
  console.log("after retry", await partitionsOnBroker(admin, "ghost"));
  await engine.close();
  await admin.close();
  await broker.stop();
});
