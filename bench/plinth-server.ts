// A real Plinth server for the benchmark, run as its own process:
//   node --import tsx bench/plinth-server.ts <dataDir> [--no-worker] [--what-if a,b] [--oidc-issuer URL]
// Durable store (SQLite, WAL, synchronous=FULL), auth, metrics, the worker
// with production defaults, and an engine that does nothing; with
// --oidc-issuer, JWTs of that identity provider are accepted beside the static token. Prints one JSON
// line {"url": ...} on stdout when it serves; SIGTERM closes it cleanly.
// With BENCH_CORE set (bench/run.sh --compare-ref), core is loaded from that
// file instead: another commit's packages/core/src, for paired rounds.
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type * as Core from "@plinth/core";
import { benchConfig, noopEngine } from "./plinth-setup.ts";
import { type WhatIf, applyAfterStart, applyBeforeStart, whatIfs } from "./what-if.ts";
import { profileOnSignal } from "./window-profiler.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    "no-worker": { type: "boolean", default: false },
    "what-if": { type: "string", default: "" },
    "oidc-issuer": { type: "string" },
  },
});
const dataDir = positionals[0];
if (!dataDir) throw new Error("usage: plinth-server.ts <dataDir> [--no-worker] [--what-if a,b] [--oidc-issuer URL]");
const whatIf = values["what-if"].split(",").filter(Boolean) as WhatIf[];
for (const name of whatIf) if (!whatIfs.includes(name)) throw new Error(`unknown --what-if ${name}`);
const core = (
  process.env.BENCH_CORE ? await import(pathToFileURL(process.env.BENCH_CORE).href) : await import("@plinth/core")
) as typeof Core;
const { createLogger, parseServiceConfig, startPlinthService } = core;
const profiles = profileOnSignal(process.env.BENCH_PROFILE_LABEL ?? "plinth");
applyBeforeStart(whatIf);
const service = await startPlinthService(parseServiceConfig(benchConfig(dataDir, values["oidc-issuer"]), dataDir), {
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
