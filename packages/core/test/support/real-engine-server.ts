// A Plinth server process with the real Pulumi engine and kafka.topic, for
// tests that SIGKILL it at a chosen point of an apply. Test-only.
// Usage: node --import tsx real-engine-server.ts <dataDir> <bootstrapServers> [crashPoint markerFile]
// crashPoint: "before-up" (claimed, engine not called), "during-up" (Pulumi is creating),
// "after-up" (the engine finished, the result is not recorded). At that point the
// process writes the marker file and stops making progress, for the test to kill it.
// "hold-before-up" writes the marker, then waits for "<marker>.go" to appear before the
// engine runs: the test can set the stage (freeze the broker) once the change is accepted.
// PLINTH_TEST_STORE_URL (a postgres:// URL): a replica on that shared PostgreSQL store instead of SQLite.
// PLINTH_TEST_PORT: listen there (a replica restarted on the port its clients know) instead of a free port.
// PLINTH_TEST_RECONCILE_MS: reconcile rounds this far apart (off by default).
// PLINTH_TEST_WORKER: JSON of worker settings over the test's own (e.g. {"leaseMs":600000,"drainMs":0}).
// SIGTERM stops it as main.ts does (service.close(): in-flight changes finish within worker.drainMs or are
// handed over), exit code 0.
import { existsSync, writeFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import type { Engine } from "../../src/index.ts";
import { kafkaServiceConfig, startRealService } from "./real-service.ts";

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
const port = process.env.PLINTH_TEST_PORT;
const reconcileMs = process.env.PLINTH_TEST_RECONCILE_MS;
const worker = process.env.PLINTH_TEST_WORKER;
const service = await startRealService(bootstrapServers, {
  dataDir,
  wrapEngine: crashing,
  config: {
    ...(storeUrl ? { store: { postgres: { url: storeUrl } } } : {}),
    ...(port ? { listen: { host: "127.0.0.1", port: Number(port) } } : {}),
    ...(reconcileMs ? { reconcile: { intervalMs: Number(reconcileMs) } } : {}),
    ...(worker ? { worker: { ...kafkaServiceConfig(dataDir, bootstrapServers).worker, ...JSON.parse(worker) } } : {}),
  },
});
process.once("SIGTERM", () => {
  service.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`unclean stop: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
process.stdout.write(`READY ${service.url}\n`);
