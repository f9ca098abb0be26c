// A Plinth server process with a slow fake engine, for tests that kill real
// processes. Test-only: `make start` never reaches this file.
// Usage: node --import tsx fake-engine-server.ts <dataDir> <journal> <applyMs> [crashOn|-] [<config overrides as JSON>]
// With crashOn, applying the resource of that name kills the server (SIGKILL to itself), as a change
// that brings its server down (out of memory, a native crash) would; "-" for none.
import { setTimeout as delay } from "node:timers/promises";
import { pino } from "pino";
import { parseServiceConfig, startPlinthService } from "../../src/index.ts";
import { createFakeEngine } from "./fake-engine.ts";
import { testConfig } from "./test-service.ts";

const [dataDir, journal, applyMs, crashOn, overrides] = process.argv.slice(2);
if (!dataDir || !journal) {
  throw new Error("usage: fake-engine-server.ts <dataDir> <journal> <applyMs> [crashOn|-] [overrides]");
}
const engine = createFakeEngine({
  journal,
  apply: async (request) => {
    if (request.name === crashOn) process.kill(process.pid, "SIGKILL");
    await delay(Number(applyMs ?? 50));
    return { outputs: { name: request.name }, secretOutputs: {} };
  },
});
const service = await startPlinthService(
  parseServiceConfig(testConfig(dataDir, overrides ? (JSON.parse(overrides) as Record<string, unknown>) : {}), dataDir),
  {
    createEngine: () => engine,
    logger: pino({ level: "silent" }),
  },
);
process.stdout.write(`READY ${service.url}\n`);
