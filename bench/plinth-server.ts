// A real Plinth server for the benchmark, run as its own process:
//   node --import tsx bench/plinth-server.ts <dataDir> [--no-worker] [--what-if a,b]
// Durable store (SQLite, WAL, synchronous=FULL), auth, metrics, the worker
// with production defaults, and an engine that does nothing. Prints one JSON
// line {"url": ...} on stdout when it serves; SIGTERM closes it cleanly.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Engine, createLogger, parseServiceConfig, sha256Hex, startPlinthService } from "@plinth/core";
import { benchPrincipal } from "./common.ts";
import { type WhatIf, applyAfterStart, applyBeforeStart, whatIfs } from "./what-if.ts";
import { profileOnSignal } from "./window-profiler.ts";

/** Succeeds at once with a tiny output, like a provider with nothing to do. */
const noopEngine: Engine = {
  apply: async (request) => ({ outputs: { name: request.name }, secretOutputs: {} }),
  destroy: async () => {},
  preview: async () => ({ steps: {}, destructive: false, details: {} }),
  close: async () => {},
};

function benchConfig(dataDir: string) {
  const { token, ...principal } = benchPrincipal;
  return {
    listen: { host: "127.0.0.1", port: 0 },
    dataDir,
    store: { sqlite: { synchronous: "FULL" } },
    engine: { passphrase: "bench-passphrase" },
    secrets: { key: "bench-secret-key-0123456789" },
    principals: [{ ...principal, roles: [...principal.roles], tokenSha256: sha256Hex(token) }],
    // worker: production defaults (concurrency 2, lease 30 s, poll 1 s).
    plugins: [{ module: join(import.meta.dirname, "widget-plugin.ts"), export: "widgetPlugin" }],
  };
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { "no-worker": { type: "boolean", default: false }, "what-if": { type: "string", default: "" } },
});
const dataDir = positionals[0];
if (!dataDir) throw new Error("usage: plinth-server.ts <dataDir> [--no-worker] [--what-if a,b]");
const whatIf = values["what-if"].split(",").filter(Boolean) as WhatIf[];
for (const name of whatIf) if (!whatIfs.includes(name)) throw new Error(`unknown --what-if ${name}`);
const profiles = profileOnSignal(process.env.BENCH_PROFILE_LABEL ?? "plinth");
applyBeforeStart(whatIf);
const service = await startPlinthService(parseServiceConfig(benchConfig(dataDir), dataDir), {
  createEngine: () => noopEngine,
  logger: createLogger({ level: "silent" }),
  worker: !values["no-worker"],
});
applyAfterStart(whatIf, dataDir);
process.stdout.write(`${JSON.stringify({ url: service.url, pid: process.pid })}\n`);
process.once("SIGTERM", () => {
  Promise.all([profiles(), service.close()]).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`close failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
