// A Plinth replica on a shared PostgreSQL store, for bench/cluster.ts:
//   node --import tsx bench/cluster-server.ts <dataDir> <postgres-url> [--no-worker] [--pool N]
// The same config and no-op engine as plinth-server.ts, with `store.postgres`. Prints one JSON line
// {"url", "pid"} on stdout when it serves; SIGTERM closes it cleanly.
import { parseArgs } from "node:util";
import { createLogger, parseServiceConfig, startPlinthService } from "@plinth/core";
import { benchConfig, noopEngine } from "./plinth-setup.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { "no-worker": { type: "boolean", default: false }, pool: { type: "string" } },
});
const [dataDir, url] = positionals;
if (!dataDir || !url) throw new Error("usage: cluster-server.ts <dataDir> <postgres-url> [--no-worker] [--pool N]");
const poolSize = values.pool === undefined ? {} : { poolSize: Number(values.pool) };
const config = { ...benchConfig(dataDir), store: { postgres: { url, ...poolSize } } };
const service = await startPlinthService(parseServiceConfig(config, dataDir), {
  createEngine: () => noopEngine,
  logger: createLogger({ level: "silent" }),
  worker: !values["no-worker"],
});
process.stdout.write(`${JSON.stringify({ url: service.url, pid: process.pid })}\n`);
process.once("SIGTERM", () => {
  service.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`close failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
