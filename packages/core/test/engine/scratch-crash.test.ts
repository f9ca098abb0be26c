import { startKafka } from "@plinth/testing";
import { it } from "vitest";
import { createPulumiEngine } from "../../src/engine/pulumi/create-pulumi-engine.ts";
import type { EngineChildEvent } from "../../src/engine/pulumi/run-engine-child.ts";
import { createAdmin, engineDataDir, partitionsOnBroker, topicRequest } from "./support/engine-fixture.ts";
import { execSync } from "node:child_process";

it("crash", async () => {
  const broker = await startKafka();
  const admin = createAdmin(broker.bootstrapServers);
  const children: EngineChildEvent[] = [];
  const dataDir = engineDataDir();
  const engine = createPulumiEngine({ dataDir, passphrase: "crash-passphrase", onChild: (e) => children.push(e) });
  const settings = { bootstrapServers: broker.bootstrapServers };
  for (const delay of [0, 300, 700]) {
    const name = `crash-${delay}`;
    const crashed = topicRequest(name, { partitions: 3 }, settings, {
      onEvent: (event) => {
        if (
          event.kind === "resource" &&
          event.details?.type === "kafka:index/topic:Topic" &&
          event.details.phase === "started"
        ) {
          const child = children.findLast((c) => c.phase === "started");
          setTimeout(() => process.kill(-child!.pid, "SIGKILL"), delay);
        }
      },
    });
    await engine.apply(crashed).catch((e) => console.log(name, "ERR", e.code, e.message));
    console.log(name, "after kill exists:", await partitionsOnBroker(admin, name));
    console.log(
      execSync(
        `find ${dataDir}/pulumi -path '*locks*' -type f; grep -c pending_operations -r ${dataDir}/pulumi/.pulumi/stacks || true`,
      ).toString(),
    );
    const retry = topicRequest(name, { partitions: 3 }, settings);
    await engine.apply(retry).then(
      () => console.log(name, "retry OK"),
      (e) => console.log(name, "retry ERR", e.code, e.message),
    );
    console.log(
      name,
      retry.events
        .filter((e) => e.kind !== "resource")
        .map((e) => e.message)
        .join("\n"),
    );
  }
  await engine.close();
  await admin.close();
  await broker.stop();
});
