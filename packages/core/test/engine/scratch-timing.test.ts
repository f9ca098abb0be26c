import { startKafka } from "@plinth/testing";
import { it } from "vitest";
import { createPulumiEngine } from "../../src/engine/pulumi/create-pulumi-engine.ts";
import { engineDataDir, topicRequest } from "./support/engine-fixture.ts";

it("timing", async () => {
  const broker = await startKafka();
  const t0 = Date.now();
  const log = (m: string) => console.log(`${String(Date.now() - t0).padStart(6)} ${m}`);
  const engine = createPulumiEngine({
    dataDir: engineDataDir(),
    passphrase: "timing-passphrase",
    onChild: (e) => log(`child ${e.phase} ${e.operation} at ${e.elapsedMs} ms`),
    logger: {
      debug: (_f: object, m: string) => log("debug " + m.slice(0, 200)),
      info: (f: object, m: string) => log("info " + m + JSON.stringify(f)),
      warn: (f: object, m: string) => log("warn " + m),
      error: () => {},
    } as never,
  });
  for (const [i, p] of [
    [1, 1],
    [2, 1],
    [3, 2],
  ] as const) {
    const s = Date.now();
    await engine.apply(
      topicRequest(
        "timing",
        { partitions: p },
        { bootstrapServers: broker.bootstrapServers },
        { onEvent: (e) => log(`event ${e.kind} ${e.message}`) },
      ),
    );
    log(`apply ${i} took ${Date.now() - s} ms`);
  }
  await engine.close();
  await broker.stop();
});
