// `make start`: a local Kafka broker, a local PostgreSQL server, a Prometheus
// scraping both Plinth and the broker, and the Plinth server (real Pulumi
// engine, config/plinth.dev.yaml), in the foreground until Ctrl-C.
// The broker authenticates with SASL/SCRAM-SHA-512 and enforces ACLs, as a real
// cluster does, so kafka.user works; Plinth logs in as its super user.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join, relative } from "node:path";
import {
  type PrometheusServer,
  formattedWithoutScram,
  repoRoot,
  startKafka,
  startPostgres,
  startPrometheus,
} from "../packages/testing/src/index.ts";

const kafkaPort = Number(process.env.KAFKA_PORT ?? 9092);
const postgresPort = Number(process.env.POSTGRES_PORT ?? 5432);
const serverPort = Number(process.env.PLINTH_PORT ?? 8080);
const prometheusPort = Number(process.env.PROMETHEUS_PORT ?? 9090);
// An existing Prometheus-compatible API to verify topics through instead of a local Prometheus
// (it must scrape the broker's metrics target, printed below, with the label cluster="local").
const externalPrometheus = process.env.PLINTH_PROMETHEUS_URL;
// PLINTH_DATA_DIR moves all state elsewhere (the test of this script does, to leave .plinth alone).
const dataDir = process.env.PLINTH_DATA_DIR ?? join(repoRoot, ".plinth");
const kafkaDir = join(dataDir, "kafka");
const shown = (path: string) => (path.startsWith(repoRoot) ? relative(repoRoot, path) : path);

if (formattedWithoutScram(kafkaDir)) {
  // Made by an older `make start` with an open broker: its metadata has no super user to log in as.
  rmSync(kafkaDir, { recursive: true, force: true });
  process.stdout.write(
    `Kafka: ${shown(kafkaDir)} predates SASL/SCRAM; formatting it again (its topics are gone: ReconcileResource recreates Plinth's).\n`,
  );
}
// With the JMX exporter: Prometheus scrapes each topic's log size, which kafka.topic's verify asks for.
const broker = await startKafka({ port: kafkaPort, dataDir: kafkaDir, scram: true, metrics: true });
const superUser = broker.sasl!;
// Throwaway: its databases go when it stops (Plinth then reports them as drifted; ReconcileResource recreates them).
const postgres = await startPostgres({ port: postgresPort }).catch(async (error: unknown) => {
  await broker.stop();
  throw error;
});
let prometheus: PrometheusServer | undefined;
if (!externalPrometheus) {
  prometheus = await startPrometheus({
    port: prometheusPort,
    dataDir: join(dataDir, "prometheus"),
    scrapeIntervalMs: 2_000,
    scrape: [
      { job: "kafka", target: broker.metricsTarget!, labels: { cluster: "local" } },
      { job: "plinth", target: `127.0.0.1:${serverPort}` },
    ],
    ruleFiles: [join(repoRoot, "deploy/prometheus/plinth-rules.yaml")],
  }).catch(async (error: unknown) => {
    await postgres.stop();
    await broker.stop();
    throw error;
  });
}
const prometheusUrl = externalPrometheus ?? prometheus!.url;
const server = spawn(
  process.execPath,
  [
    "--import",
    "tsx",
    join(repoRoot, "packages/core/src/main.ts"),
    "--config",
    join(repoRoot, "config/plinth.dev.yaml"),
  ],
  {
    cwd: join(repoRoot, "packages/core"),
    stdio: "inherit",
    env: {
      ...process.env,
      PLINTH_DATA_DIR: dataDir,
      PLINTH_KAFKA_BOOTSTRAP: broker.bootstrapServers,
      // The super user's password (made once per data dir) reaches the plugin through `passwordEnv`.
      PLINTH_KAFKA_USERNAME: superUser.username,
      PLINTH_KAFKA_PASSWORD: superUser.password,
      PLINTH_POSTGRES_PORT: String(postgres.port),
      // The admin password reaches the plugin through its `passwordEnv`, never the config file.
      PLINTH_POSTGRES_ADMIN_PASSWORD: postgres.password,
      PLINTH_PORT: String(serverPort),
      PLINTH_PROMETHEUS_URL: prometheusUrl,
    },
  },
);

process.stdout.write(
  [
    "",
    "Plinth is starting:",
    `  Kafka broker   ${broker.bootstrapServers}  (SASL_PLAINTEXT, SCRAM-SHA-512, ACLs; data in ${shown(kafkaDir)}; KAFKA_PORT to change)`,
    `                 super user ${superUser.username}, password in ${shown(join(kafkaDir, "super-user.json"))}`,
    `                 metrics on http://${broker.metricsTarget}/metrics (log size per topic and partition)`,
    `  PostgreSQL     127.0.0.1:${postgres.port}  (instance "local", throwaway; POSTGRES_PORT to change)`,
    prometheus
      ? `  Prometheus     ${prometheus.url}  (scrapes the broker and Plinth, loads deploy/prometheus/plinth-rules.yaml; PROMETHEUS_PORT to change)`
      : `  Prometheus     ${prometheusUrl}  (PLINTH_PROMETHEUS_URL: not started here, kafka.topic verifies through it)`,
    `  Plinth API     http://127.0.0.1:${serverPort}  (Connect, gRPC, gRPC-Web; /metrics, /healthz)`,
    `  Console        http://127.0.0.1:${serverPort}/  (sign in with a dev token)`,
    `  State          ${shown(dataDir)}/ (SQLite store and Pulumi state)`,
    "  Dev tokens     dev-requester, dev-reviewer, dev-admin",
    "  Try            PLINTH_TOKEN=dev-requester node packages/sdk/bin/plinth.js plugins",
    "Stop with Ctrl-C.",
    "",
  ].join("\n"),
);

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  server.kill("SIGTERM");
  await new Promise((resolve) => (server.exitCode === null ? server.once("exit", resolve) : resolve(undefined)));
  await prometheus?.stop();
  await postgres.stop();
  await broker.stop();
  process.exit(code);
}
process.once("SIGINT", () => void stop(0));
process.once("SIGTERM", () => void stop(0));
server.once("exit", (code) => void stop(code ?? 1));
