import { startKafka } from "@plinth/testing";
import { it } from "vitest";
import { createPulumiEngine } from "../../src/engine/pulumi/create-pulumi-engine.ts";
import { engineDataDir, throwingRequest, topicRequest } from "./support/engine-fixture.ts";

it("messages", async () => {
  const broker = await startKafka();
  const engine = createPulumiEngine({ dataDir: engineDataDir(), passphrase: "messages-passphrase" });
  const show = async (p: Promise<unknown>) => {
    try {
      await p;
      console.log("OK");
    } catch (e) {
      console.log("ERR", (e as { code: string }).code, (e as Error).message);
    }
  };
  await show(engine.apply(throwingRequest("x")));
  await show(engine.apply({ ...throwingRequest("y"), plugin: { module: "file:///nope/x.ts", exportName: "p" } }));
  await broker.halt();
  const r = topicRequest("down", { partitions: 1 }, { bootstrapServers: broker.bootstrapServers, timeoutSeconds: 5 });
  await show(engine.apply(r));
  console.log(JSON.stringify(r.events, null, 1));
  await engine.close();
  await broker.stop();
});
