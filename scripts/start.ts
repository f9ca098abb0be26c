// `make start`: a local Kafka broker and the Plinth server (real Pulumi engine,
// config/plinth.dev.yaml), in the foreground until Ctrl-C.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { repoRoot, startKafka } from "../packages/testing/src/index.ts";

const kafkaPort = Number(process.env.KAFKA_PORT ?? 9092);
const serverPort = Number(process.env.PLINTH_PORT ?? 8080);
const dataDir = join(repoRoot, ".plinth");

const broker = await startKafka({ port: kafkaPort, dataDir: join(dataDir, "kafka") });
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
    env: { ...process.env, PLINTH_KAFKA_BOOTSTRAP: broker.bootstrapServers, PLINTH_PORT: String(serverPort) },
  },
);

process.stdout.write(
  [
    "",
    "Plinth is starting:",
    `  Kafka broker   ${broker.bootstrapServers}  (data in .plinth/kafka; KAFKA_PORT to change)`,
    `  Plinth API     http://127.0.0.1:${serverPort}  (Connect, gRPC, gRPC-Web; /metrics, /healthz)`,
    `  Console        http://127.0.0.1:${serverPort}/  (sign in with a dev token)`,
    `  State          .plinth/ (SQLite store and Pulumi state)`,
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
  await broker.stop();
  process.exit(code);
}
process.once("SIGINT", () => void stop(0));
process.once("SIGTERM", () => void stop(0));
server.once("exit", (code) => void stop(code ?? 1));
