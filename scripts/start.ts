// `make start`: a local Kafka broker, a local PostgreSQL server, a Prometheus
// scraping both Plinth and the broker, and the Plinth server (real Pulumi
// engine, config/plinth.dev.yaml), in the foreground until Ctrl-C.
import { join } from "node:path";
import { repoRoot } from "../packages/testing/src/index.ts";
import { ports, shown, spawnPlinthServer, startLocalInfrastructure } from "./local-infrastructure.ts";

// PLINTH_DATA_DIR moves all state elsewhere (the test of this script does, to leave .plinth alone).
const dataDir = process.env.PLINTH_DATA_DIR ?? join(repoRoot, ".plinth");
const infrastructure = await startLocalInfrastructure({
  dataDir,
  plinthTargets: [{ job: "plinth", target: `127.0.0.1:${ports.plinth}` }],
  scramlessData: "reformat",
});
const { broker, postgres, schemaRegistry, prometheus, prometheusUrl, idp, kafkaDir } = infrastructure;
const server = spawnPlinthServer(join(repoRoot, "config/plinth.dev.yaml"), {
  ...infrastructure.pluginEnv,
  PLINTH_DATA_DIR: dataDir,
  PLINTH_PORT: String(ports.plinth),
});

process.stdout.write(
  [
    "",
    "Plinth is starting:",
    `  Kafka broker   ${broker.bootstrapServers}  (SASL_PLAINTEXT, SCRAM-SHA-512, ACLs; data in ${shown(kafkaDir)}; KAFKA_PORT to change)`,
    `                 super user ${broker.sasl!.username}, password in ${shown(join(kafkaDir, "super-user.json"))}`,
    `                 metrics on http://${broker.metricsTarget}/metrics (log size per topic and partition)`,
    `  PostgreSQL     127.0.0.1:${postgres.port}  (instance "local", throwaway; POSTGRES_PORT to change)`,
    `  Schema registry ${schemaRegistry.url}  (Apicurio, in-memory storage: throwaway; SCHEMA_REGISTRY_PORT to change)`,
    prometheus
      ? `  Prometheus     ${prometheus.url}  (scrapes the broker and Plinth, loads deploy/prometheus/plinth-rules.yaml; PROMETHEUS_PORT to change)`
      : `  Prometheus     ${prometheusUrl}  (PLINTH_PROMETHEUS_URL: not started here, kafka.topic verifies through it)`,
    `  Plinth API     http://127.0.0.1:${ports.plinth}  (Connect, gRPC, gRPC-Web; /metrics, /healthz)`,
    `  Sign-in        ${idp.issuer}  (development OpenID provider; IDP_PORT to change): people alice (payments`,
    "                 requester), bob (payments reviewer), carol (admin), dana (payments and orders requester),",
    "                 erin (payments and orders reviewer);",
    "                 service orders-deployer (client credentials, secret orders-deployer-dev-secret)",
    `  Console        http://127.0.0.1:${ports.plinth}/  (sign in through the provider, or with a dev token)`,
    `  State          ${shown(dataDir)}/ (SQLite store and Pulumi state)`,
    "  Dev tokens     dev-requester, dev-reviewer, dev-admin (static tokens, beside the provider)",
    "  Try            PLINTH_TOKEN=dev-requester node packages/cli/bin/plinth.js plugins",
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
  await infrastructure.stop();
  process.exit(code);
}
process.once("SIGINT", () => void stop(0));
process.once("SIGTERM", () => void stop(0));
server.once("exit", (code) => void stop(code ?? 1));
