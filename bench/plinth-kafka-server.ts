// A real Plinth server for bench/apply-latency.ts, run as its own process:
//   node --import tsx bench/plinth-kafka-server.ts <dataDir> <bootstrapServers> [configJson]
// As `make start` runs it: durable SQLite, the real Pulumi engine (its
// children, the CLI, the Kafka provider), the kafka.topic plugin against one
// broker, production worker defaults. `configJson` is merged over the config
// (e.g. {"reconcile":{"intervalMs":0}}). Logs JSON at info on stderr (the
// engine's "apply finished" lines carry each phase's milliseconds); prints
// {"url","pid"} on stdout once it serves; SIGTERM closes it cleanly.
import { join } from "node:path";
import { createLogger, createPulumiEngine, parseServiceConfig, sha256Hex, startPlinthService } from "@plinth/core";
import { benchPrincipal } from "./common.ts";

const [dataDir, bootstrapServers, configJson] = process.argv.slice(2);
if (!dataDir || !bootstrapServers) throw new Error("usage: plinth-kafka-server.ts <dataDir> <bootstrapServers>");
const { token, ...principal } = benchPrincipal;
const config = {
  listen: { host: "127.0.0.1", port: 0 },
  dataDir,
  store: { sqlite: { synchronous: "FULL" } },
  engine: { passphrase: "bench-passphrase" },
  secrets: { key: "bench-secret-key-0123456789" },
  principals: [{ ...principal, roles: [...principal.roles], tokenSha256: sha256Hex(token) }],
  plugins: [
    {
      module: join(import.meta.dirname, "../packages/plugin-kafka/src/index.ts"),
      export: "kafkaTopic",
      settings: { clusters: { local: { bootstrapServers: [bootstrapServers], brokers: 1 } } },
    },
  ],
};
// Merged one level deep, so that `{"engine":{"concurrency":4}}` keeps the engine's passphrase.
for (const [key, value] of Object.entries(configJson ? (JSON.parse(configJson) as Record<string, unknown>) : {})) {
  const base = (config as Record<string, unknown>)[key];
  (config as Record<string, unknown>)[key] =
    base && typeof base === "object" && value && typeof value === "object" && !Array.isArray(value)
      ? { ...base, ...value }
      : value;
}
const logger = createLogger({ level: "info", destination: process.stderr });
const service = await startPlinthService(parseServiceConfig(config, dataDir), {
  logger,
  createEngine: ({ config: parsed }, log) =>
    createPulumiEngine({
      dataDir,
      passphrase: parsed.engine.passphrase,
      concurrency: parsed.engine.concurrency,
      logger: log.child({ component: "engine" }),
    }),
});
// How long each store transaction took from its call to its commit, logged (as a warning, which the benches
// print) when it took half a second or more: on SQLite, every other writer waits that long behind it.
const transact = service.store.transact.bind(service.store);
service.store.transact = async (work, options) => {
  const started = performance.now();
  try {
    return await transact(work, options);
  } finally {
    const ms = Math.round(performance.now() - started);
    if (ms >= 500) logger.warn({ ms }, `store transaction took ${ms} ms`);
  }
};
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
