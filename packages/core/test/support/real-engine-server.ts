// A Plinth server process with the real Pulumi engine and kafka.topic, for
// tests that SIGKILL it at a chosen point of an apply. Test-only.
// Usage: node --import tsx real-engine-server.ts <dataDir> <bootstrapServers> [crashPoint markerFile]
// crashPoint: "before-up" (claimed, engine not called), "during-up" (Pulumi is creating),
// "after-up" (the engine finished, the result is not recorded). At that point the
// process writes the marker file and stops making progress, for the test to kill it.
// "hold-before-up" writes the marker, then waits for "<marker>.go" to appear before the
// engine runs: the test can set the stage (freeze the broker) once the change is accepted.
// PLINTH_TEST_STORE_URL (a postgres:// URL): a replica on that shared PostgreSQL store instead of SQLite.
import { existsSync, writeFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import type { Engine } from "../../src/index.ts";
import { startRealService } from "./real-service.ts";

const [dataDir, bootstrapServers, crashPoint, marker] = process.argv.slice(2);
if (!dataDir || !bootstrapServers) throw new Error("usage: real-engine-server.ts <dataDir> <bootstrap> [point marker]");

const stall = (point: string) => {
  writeFileSync(marker!, point);
  return new Promise<never>(() => undefined);
};

function crashing(engine: Engine): Engine {
  if (!crashPoint) return engine;
  return {
    ...engine,
    async apply(request) {
      if (crashPoint === "before-up") return await stall("before-up");
      if (crashPoint === "hold-before-up") {
        writeFileSync(marker!, crashPoint);
        while (!existsSync(`${marker}.go`)) await delay(50);
      }
      const onEvent = request.onEvent;
      const result = engine.apply({
        ...request,
        onEvent: (event) => {
          onEvent?.(event);
          if (crashPoint === "during-up" && event.kind === "resource" && event.message.includes("started"))
            void stall("during-up");
        },
      });
      const outputs = await result;
      if (crashPoint === "after-up") return await stall("after-up");
      return outputs;
    },
  };
}

const storeUrl = process.env.PLINTH_TEST_STORE_URL;
const service = await startRealService(bootstrapServers, {
  dataDir,
  wrapEngine: crashing,
  ...(storeUrl ? { config: { store: { postgres: { url: storeUrl } } } } : {}),
});
process.stdout.write(`READY ${service.url}\n`);
