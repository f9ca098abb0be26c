// `plinth import` of many topics made outside Plinth, on a real broker, end to end through a real
// Plinth server (its own process: durable SQLite, the real Pulumi engine, default reconcile interval):
// 1. --topics one-partition topics created with the admin client (no Plinth), waited for until listed;
// 2. ListInventory through the server: the time Plinth takes to list them (the baseline);
// 3. ImportResources (one owner rule) then ApproveImport by a reviewer of the receiving team: wall
//    seconds of each, CPU seconds of the server's process tree, and its memory after;
//    While ApproveImport runs, a writer probe (another person's CreateSubscription then
//    DeleteSubscription, one after the other) measures how long other writers wait: the longest
//    probe against its median before the approval is how long the approval held them up;
// 4. afterwards: one imported topic changed (partitions 1 -> 2) to SUCCEEDED, with its preview's steps,
//    and one deleted out of band until GetResource shows it DRIFTED at the default interval.
// --store postgres runs the server on a real PostgreSQL (started here) instead of durable SQLite.
//
//   node --import tsx bench/import.ts [--topics 1000] [--interval-ms 60000] [--store sqlite|postgres]
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { ChangeService } from "@plinth/sdk/gen/plinth/v1/change_service_pb.ts";
import { ImportService } from "@plinth/sdk/gen/plinth/v1/import_service_pb.ts";
import { NotificationKind } from "@plinth/sdk/gen/plinth/v1/notification_pb.ts";
import { NotificationService } from "@plinth/sdk/gen/plinth/v1/notification_service_pb.ts";
import { PluginService } from "@plinth/sdk/gen/plinth/v1/plugin_service_pb.ts";
import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { ResourceService } from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";
import { sha256Hex } from "../packages/core/src/index.ts";
import { type PostgresServer, pulumiEnv, startKafka, startPostgres } from "../packages/testing/src/index.ts";
import { Admin } from "../packages/plugin-kafka/node_modules/@platformatic/kafka/dist/index.js";
import { createClient, createConnectTransport } from "./deps.ts";
import { tree, treeCpuSeconds } from "./proc-tree.ts";

const { values: args } = parseArgs({
  options: {
    topics: { type: "string", default: "1000" },
    "interval-ms": { type: "string", default: "60000" },
    store: { type: "string", default: "sqlite" },
  },
});
if (!["sqlite", "postgres"].includes(args.store)) throw new Error("--store is sqlite or postgres");
const count = Number(args.topics);
const intervalMs = Number(args["interval-ms"]);
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(2);

const people = {
  importer: { id: "importer", team: "estate", roles: ["requester"], token: "bench-importer" },
  reviewer: { id: "reviewer", team: "estate", roles: ["reviewer"], token: "bench-reviewer" },
  prober: { id: "prober", team: "elsewhere", roles: ["requester"], token: "bench-prober" },
};
const clientsOf = (url: string, token: string) => {
  const transport = createConnectTransport({
    baseUrl: url,
    httpVersion: "1.1",
    interceptors: [
      (next) => async (req) => {
        req.header.set("authorization", `Bearer ${token}`);
        return await next(req);
      },
    ],
  });
  return {
    imports: createClient(ImportService, transport),
    plugins: createClient(PluginService, transport),
    resources: createClient(ResourceService, transport),
    changes: createClient(ChangeService, transport),
    notifications: createClient(NotificationService, transport),
  };
};

/**
 * A write that shares no row with an import: another team's subscription made and removed (its filter matches
 * nothing the bench does, so it is never sent anything). Milliseconds of each round trip, until `stop()`.
 */
function writerProbe(client: ReturnType<typeof clientsOf>) {
  const times: number[] = [];
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const started = performance.now();
      const { subscription } = await client.notifications.createSubscription({
        url: `http://127.0.0.1:9/probe-${i}`,
        filter: { types: ["kafka.topic"], kinds: [NotificationKind.REVIEW_ESCALATED] },
      });
      await client.notifications.deleteSubscription({ id: subscription!.id });
      times.push(performance.now() - started);
    }
  })();
  return {
    times,
    stop: async () => {
      running = false;
      await done;
    },
  };
}
/**
 * The broker's listing of 10,000 topics can time out under load ("Listing topics failed.", BENCHMARKS.md): a call
 * that lists (ListInventory, ImportResources with its request id, ApproveImport, whose listing comes before anything
 * is recorded) is tried up to three times, each retry printed.
 */
async function listing<T>(what: string, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt === 3 || !String(error).includes("Listing topics failed")) throw error;
      console.log(`  ${what}: the broker's listing failed (attempt ${attempt}), trying again`);
    }
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const broker = await startKafka();
const postgres: PostgresServer | undefined = args.store === "postgres" ? await startPostgres() : undefined;
let server: ChildProcess | undefined;
try {
  const names = Array.from({ length: count }, (_, i) => `bench.import.t${String(i).padStart(5, "0")}`);
  const admin = new Admin({ clientId: "bench-import", bootstrapBrokers: [broker.bootstrapServers] });
  const seeded = Date.now();
  try {
    for (let i = 0; i < count; i += 500) {
      await admin.createTopics({ topics: names.slice(i, i + 500), partitions: 1, replicas: 1 });
    }
    // The broker accepts creates long before it lists them (its logs are made one by one): wait for all.
    await until("every topic listed", 30 * 60_000, async () => {
      const listed = (await admin.listTopics()).filter((name) => name.startsWith("bench.import.")).length;
      return listed === count ? listed : undefined;
    });
  } finally {
    await admin.close();
  }
  console.log(`seeded ${count} topics, all listed after ${seconds(seeded)} s (load ${load()})`);

  const benchDir = import.meta.dirname;
  mkdirSync(join(benchDir, ".plinth"), { recursive: true });
  const dataDir = mkdtempSync(join(benchDir, ".plinth", "import-"));
  const config = {
    principals: Object.values(people).map(({ token, ...person }) => ({ ...person, tokenSha256: sha256Hex(token) })),
    reconcile: { intervalMs },
    // The probe's subscriptions point at loopback, which webhooks may reach only when allowed.
    notifications: { allowedTargets: ["127.0.0.1"] },
    ...(postgres && { store: { postgres: { url: postgres.connectionString } } }),
  };
  server = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(benchDir, "plinth-kafka-server.ts"),
      dataDir,
      broker.bootstrapServers,
      JSON.stringify(config),
    ],
    { cwd: join(benchDir, ".."), stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...pulumiEnv() } },
  );
  createInterface({ input: server.stderr! }).on("line", (line) => {
    try {
      const entry = JSON.parse(line) as { level: number; msg: string };
      if (entry.level >= 40) console.log(`  [server] ${entry.msg}`);
    } catch {
      process.stderr.write(`  [server] ${line}\n`);
    }
  });
  const ready = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    server!.once("exit", (code) => reject(new Error(`the server exited with ${code} before serving`)));
    createInterface({ input: server!.stdout! }).once("line", (line) => resolve(JSON.parse(line)));
  });
  const importer = clientsOf(ready.url, people.importer.token);
  const reviewer = clientsOf(ready.url, people.reviewer.token);
  const prober = clientsOf(ready.url, people.prober.token);

  let started = Date.now();
  const { items } = await listing("ListInventory", () =>
    importer.plugins.listInventory({ type: "kafka.topic", scope: "local" }),
  );
  console.log(`ListInventory: ${items.length} topics in ${seconds(started)} s`);

  const cpuBefore = treeCpuSeconds(ready.pid);
  const importStarted = Date.now();
  started = Date.now();
  const planned = await listing("ImportResources", () =>
    importer.imports.importResources({
      type: "kafka.topic",
      scope: "local",
      rules: [{ prefix: "bench.import.", team: "estate", contact: "#estate" }],
      requestId: "bench-import",
    }),
  );
  const plannedSeconds = seconds(started);
  const quiet = writerProbe(prober);
  await until("ten quiet probes", 60_000, async () => (quiet.times.length >= 10 ? true : undefined));
  await quiet.stop();
  const busy = writerProbe(prober);
  started = Date.now();
  const done = await listing("ApproveImport", () =>
    reviewer.imports.approveImport({ id: planned.import!.id, comment: "bench" }),
  );
  const approvedSeconds = seconds(started);
  await busy.stop();
  console.log(
    `another writer (${args.store}): median ${median(quiet.times).toFixed(0)} ms before the approval; during it ` +
      `${busy.times.length} writes, median ${median(busy.times).toFixed(0)} ms, longest ${Math.max(...busy.times).toFixed(0)} ms`,
  );
  const cpu = treeCpuSeconds(ready.pid) - cpuBefore;
  const rss = tree(ready.pid).reduce((sum, p) => sum + p.rssMb, 0);
  console.log(
    `import of ${done.import!.resources.length} topics (${done.import!.skipped.length} skipped): ` +
      `ImportResources ${plannedSeconds} s, ApproveImport ${approvedSeconds} s, end to end ${seconds(importStarted)} s; ` +
      `server CPU ${cpu.toFixed(2)} s, server RSS after ${rss.toFixed(0)} MB (load ${load()})`,
  );

  const changed = names[1]!;
  const { resource } = await importer.resources.getResource({ type: "kafka.topic", name: changed });
  started = Date.now();
  const applied = await importer.resources.applyResource({
    type: "kafka.topic",
    name: changed,
    spec: { ...resource!.spec, partitions: 2 },
    requestId: "bench-change",
  });
  const change = await until("the change to end", 600_000, async () => {
    const { change } = await importer.changes.getChange({ id: applied.change!.id });
    return change && [ChangeStatus.SUCCEEDED, ChangeStatus.FAILED].includes(change.status) ? change : undefined;
  });
  console.log(
    `first change of an imported topic: ${ChangeStatus[change.status]} in ${seconds(started)} s, preview steps ${JSON.stringify(change.preview?.steps)}`,
  );

  const victim = names[2]!;
  const deleter = new Admin({ clientId: "bench-import-hand", bootstrapBrokers: [broker.bootstrapServers] });
  try {
    await deleter.deleteTopics({ topics: [victim] });
  } finally {
    await deleter.close();
  }
  started = Date.now();
  await until("the deleted topic to show as DRIFTED", 10 * intervalMs + 600_000, async () => {
    const { resource } = await importer.resources.getResource({ type: "kafka.topic", name: victim });
    return resource?.status === ResourceStatus.DRIFTED ? resource : undefined;
  });
  console.log(`a topic deleted out of band: DRIFTED after ${seconds(started)} s (interval ${intervalMs / 1000} s)`);
} finally {
  if (server && server.exitCode === null) {
    await new Promise<void>((resolve) => {
      server!.once("exit", () => resolve());
      server!.kill("SIGTERM");
    });
  }
  await broker.stop();
  await postgres?.stop();
}
