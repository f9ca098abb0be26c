// `make start-cluster`: what `make start` runs (a Kafka broker, a PostgreSQL server, a Prometheus),
// but with Plinth as three replicas on consecutive ports sharing one PostgreSQL store (that same
// server's "postgres" database, Pulumi's state in it too), in the foreground until Ctrl-C.
// There is no load balancer here: clients name every replica (the SDK takes a list of base URLs),
// or put any HTTP/2-capable proxy in front (docs/operating.md).
import type { ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../packages/testing/src/index.ts";
import { ports, shown, spawnPlinthServer, startLocalInfrastructure } from "./local-infrastructure.ts";

const replicaCount = 3;
// Apart from `make start`'s .plinth: that one's state is a SQLite file.
const dataDir = process.env.PLINTH_DATA_DIR ?? join(repoRoot, ".plinth-cluster");
const replicaPorts = Array.from({ length: replicaCount }, (_, i) => ports.plinth + i);

const infrastructure = await startLocalInfrastructure({
  dataDir,
  plinthTargets: replicaPorts.map((port, i) => ({
    job: `plinth-${i + 1}`,
    target: `127.0.0.1:${port}`,
    labels: { replica: String(i + 1) },
  })),
  scramlessData: "refuse",
});
const { broker, postgres, prometheusUrl, kafkaDir } = infrastructure;
const children: ChildProcess[] = [];
let stopping = false;

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // SIGTERM: each replica stops taking requests, lets in-flight changes finish or park, then exits.
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null) return resolve(undefined);
          child.once("exit", resolve);
          child.kill("SIGTERM");
        }),
    ),
  );
  await infrastructure.stop();
  process.exit(code);
}
process.once("SIGINT", () => void stop(0));
process.once("SIGTERM", () => void stop(0));

// make start's config plus the shared store (it has no `store` key of its own). The password stays in
// the environment; sslmode=disable because Pulumi's PostgreSQL backend wants TLS unless told otherwise.
const storeUrl = `postgres://postgres:\${PLINTH_STORE_PASSWORD}@127.0.0.1:${postgres.port}/postgres?sslmode=disable`;
mkdirSync(dataDir, { recursive: true, mode: 0o700 });
// In the cluster's data dir, not the checkout: plugin packages (`@plinth/plugin-kafka`) also resolve from the
// server's own installation, and a second cluster (another PLINTH_DATA_DIR) does not overwrite this one's.
const configFile = join(dataDir, "plinth.cluster.yaml");
writeFileSync(
  configFile,
  `# Written by scripts/start-cluster.ts: config/plinth.dev.yaml and a shared store.\n${readFileSync(
    join(repoRoot, "config/plinth.dev.yaml"),
    "utf8",
  )}\nstore:\n  postgres:\n    url: "${storeUrl}"\n`,
);

// What every replica's environment holds besides its port and data dir, in a file an operator can source to
// start one more replica, or to restart one by hand (docs/operating.md). Passwords: for this user only.
const sharedEnv = { ...infrastructure.pluginEnv, PLINTH_STORE_PASSWORD: postgres.password };
const envFile = join(dataDir, "replica.env");
writeFileSync(
  envFile,
  Object.entries(sharedEnv)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}\n`)
    .join(""),
  { mode: 0o600 },
);

for (const [i, port] of replicaPorts.entries()) {
  const child = spawnPlinthServer(configFile, {
    ...sharedEnv,
    // Each replica has its own data dir (Pulumi's work dirs; the data-dir lock is per process).
    PLINTH_DATA_DIR: join(dataDir, `replica-${i + 1}`),
    PLINTH_PORT: String(port),
  });
  children.push(child);
  // One replica failing is worth a look, not the end of the cluster: the others go on.
  child.once("exit", (code) => {
    if (!stopping) process.stdout.write(`replica ${i + 1} (port ${port}) exited with ${code}\n`);
  });
}

const urls = replicaPorts.map((port) => `http://127.0.0.1:${port}`);
process.stdout.write(
  [
    "",
    `Plinth is starting as ${replicaCount} replicas on one PostgreSQL store:`,
    `  Kafka broker   ${broker.bootstrapServers}  (SASL/SCRAM, ACLs; data in ${shown(kafkaDir)}; KAFKA_PORT to change)`,
    `  PostgreSQL     127.0.0.1:${postgres.port}  (the store and Pulumi's state; also instance "local"; throwaway)`,
    `                 password ${postgres.password} (user postgres)`,
    `  Prometheus     ${prometheusUrl}  (scrapes the broker and every replica)`,
    ...urls.map(
      (url, i) => `  Replica ${i + 1}      ${url}  (pid ${children[i]!.pid}; API, console, /metrics, /readyz)`,
    ),
    `  Config         ${shown(configFile)}  (PLINTH_PORT moves the first port; the others follow)`,
    "  Dev tokens     dev-requester, dev-reviewer, dev-admin",
    `  Try            PLINTH_TOKEN=dev-requester PLINTH_URL=${urls[1]} node packages/cli/bin/plinth.js plugins`,
    `  From the SDK   createPlinthClient({ baseUrl: ${JSON.stringify(urls)}, token }) fails over between them`,
    "  Kill one       the others take its changes over when its lease runs out",
    "  Restart one    kill -TERM <its pid>, then the line below with its port and data dir",
    `  One more       set -a; . ${shown(envFile)}; PLINTH_PORT=${ports.plinth + replicaCount} PLINTH_DATA_DIR=${shown(join(dataDir, `replica-${replicaCount + 1}`))} node packages/core/bin/plinth-server.js --config ${shown(configFile)}`,
    "Stop with Ctrl-C.",
    "",
  ].join("\n"),
);
