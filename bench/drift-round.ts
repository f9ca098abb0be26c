// A reconcile round over many topics, on a real broker, in three parts:
// 1. the bulk half alone (in this process): what a round costs for topics that
//    did not change (one cluster listing with partitions and configs, then the
//    comparison with every recorded spec), and that a topic deleted out of band
//    comes out as the one suspect;
// 2. end to end, through a real Plinth server at the default reconcile interval
//    (60 s) managing about --topics topics: a managed topic deleted out of band
//    at a random moment, and the seconds until GetResource shows it DRIFTED;
//    with the round's own wall and CPU seconds;
// 3. ApplyResource to SUCCEEDED with reconciling off, and with rounds running
//    back to back over several DRIFTED suspects (their refreshing previews use
//    the round's engine share), in one run. See bench/README.md.
//
//   node --import tsx bench/drift-round.ts [--topics 1000] [--rounds 5] [--detections 4] [--applies 4] [--cycles 3]
//
// The topics are created with the admin client, with exactly the configs the
// plugin's defaults resolve (what Pulumi would have applied), not through
// Plinth; for part 2 they are recorded in the server's store as READY (revision
// 1) before it starts, beside topics that Plinth itself applied with Pulumi:
// those are the ones deleted out of band, so their confirming preview is real.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { ChangeService } from "@plinth/sdk/gen/plinth/v1/change_service_pb.ts";
import { ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { ResourceService } from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";
import { createLogger, parseServiceConfig, sha256Hex } from "../packages/core/src/index.ts";
import { openStore } from "../packages/core/src/store/open-store.ts";
import { pulumiEnv } from "../packages/testing/src/index.ts";
import { benchPrincipal } from "./common.ts";
import { createClient, createConnectTransport } from "./deps.ts";
import { treeCpuSeconds } from "./proc-tree.ts";
import { Admin } from "../packages/plugin-kafka/node_modules/@platformatic/kafka/dist/index.js";
import { type TopicSpec, kafkaTopic } from "../packages/plugin-kafka/src/index.ts";
import { KafkaSettings } from "../packages/plugin-kafka/src/cluster-settings.ts";
import { topicConfigStrings } from "../packages/plugin-kafka/src/topic-config-strings.ts";
import { startKafka } from "../packages/testing/src/index.ts";

const { values: args } = parseArgs({
  options: {
    topics: { type: "string", default: "1000" },
    rounds: { type: "string", default: "5" },
    detections: { type: "string", default: "4" },
    applies: { type: "string", default: "4" },
    cycles: { type: "string", default: "3" },
  },
});
const count = Number(args.topics);
const rounds = Number(args.rounds);
const detections = Number(args.detections);
const applies = Number(args.applies);
const cycles = Number(args.cycles);
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const broker = await startKafka();
try {
  const settings = KafkaSettings.parse({
    clusters: { local: { bootstrapServers: [broker.bootstrapServers], brokers: 1 } },
  });
  const ctx = { settings, logger: { debug() {}, info() {}, warn() {}, error() {} } };
  const bulk = kafkaTopic.observeInBulk!;
  const records = Array.from({ length: count }, (_, i) => {
    const name = `bench.drift.${String(i).padStart(5, "0")}`;
    const input = { cluster: "local", partitions: 1, owner: { team: "bench", contact: "#bench" } } as TopicSpec;
    const spec = kafkaTopic.defaults!(name, kafkaTopic.spec.parse(input), ctx).spec;
    return { name, spec, identity: kafkaTopic.identity!(name, spec, ctx) };
  });
  const admin = new Admin({ clientId: "bench-drift", bootstrapBrokers: [broker.bootstrapServers] });
  const seeded = Date.now();
  try {
    for (let i = 0; i < count; i += 100) {
      const batch = records.slice(i, i + 100);
      // Every record resolves the same configs; creating with them is what Pulumi's create does.
      await admin.createTopics({
        topics: batch.map((record) => record.name),
        partitions: 1,
        replicas: 1,
        configs: Object.entries(topicConfigStrings(batch[0]!.spec.config)).map(([name, value]) => ({ name, value })),
      });
    }
  } finally {
    await admin.close();
  }
  console.log(`seeded ${count} topics in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);

  /** One bulk pass: list the cluster, compare every record; returns the suspects, seconds and CPU seconds. */
  async function pass() {
    const started = Date.now();
    const cpu = cpuUsage();
    const items = await kafkaTopic.inventory!("local", ctx);
    const byIdentity = new Map(items.map((item) => [item.identity, item]));
    const suspects = records.filter(
      (record) => bulk.differences(byIdentity.get(record.identity), record.name, record.spec, ctx).length > 0,
    );
    const used = cpuUsage(cpu);
    return { suspects, seconds: (Date.now() - started) / 1000, cpu: (used.user + used.system) / 1e6 };
  }

  // Kafka creates topics asynchronously: wait until the listing shows every one as seeded.
  const settleBy = Date.now() + 120_000;
  let first = await pass();
  while (first.suspects.length > 0 && Date.now() < settleBy) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    first = await pass();
  }
  if (first.suspects.length > 0) {
    const items = await kafkaTopic.inventory!("local", ctx);
    const sample = first.suspects[0]!;
    const item = items.find((candidate) => candidate.identity === sample.identity);
    console.log(
      `still ${first.suspects.length} suspects after 120 s, e.g. ${sample.name}:`,
      bulk.differences(item, sample.name, sample.spec, ctx),
    );
  }
  console.log(
    `all ${count} topics listed as seeded ${((Date.now() - seeded) / 1000).toFixed(1)} s after seeding began`,
  );
  const passes = [];
  for (let round = 0; round < rounds; round++) passes.push(await pass());
  const sorted = passes.map((p) => p.seconds).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const cpuMedian = passes.map((p) => p.cpu).sort((a, b) => a - b)[Math.floor(passes.length / 2)]!;
  console.log(
    `unchanged: ${rounds} passes over ${count} topics, median ${median.toFixed(2)} s wall, ${cpuMedian.toFixed(2)} s CPU (this process), suspects ${passes.map((p) => p.suspects.length).join(",")}`,
  );

  const victim = records[Math.floor(count / 2)]!;
  const deleter = new Admin({ clientId: "bench-drift-hand", bootstrapBrokers: [broker.bootstrapServers] });
  try {
    await deleter.deleteTopics({ topics: [victim.name] });
  } finally {
    await deleter.close();
  }
  const after = await pass();
  console.log(
    `one deleted out of band: ${after.seconds.toFixed(2)} s wall, ${after.cpu.toFixed(2)} s CPU, suspects: ${after.suspects.length} (${after.suspects
      .slice(0, 3)
      .map((s) => s.name)
      .join(", ")})`,
  );
  await endToEnd(
    broker.bootstrapServers,
    records.filter((record) => record !== victim),
  );
} finally {
  await broker.stop();
}

// ---- parts 2 and 3: a real Plinth server ----

async function endToEnd(
  bootstrapServers: string,
  seeded: Array<{ name: string; spec: TopicSpec; identity: string }>,
): Promise<void> {
  if (detections <= 0 && applies <= 0) return;
  const benchDir = import.meta.dirname;
  mkdirSync(join(benchDir, ".plinth"), { recursive: true });
  const scratch = mkdtempSync(join(benchDir, ".plinth", "drift-"));
  const dataDir = join(scratch, "plinth");
  mkdirSync(dataDir);
  const env = { ...process.env, ...pulumiEnv() };
  const plugin = {
    module: join(benchDir, "../packages/plugin-kafka/src/index.ts"),
    export: "kafkaTopic",
    settings: { clusters: { local: { bootstrapServers: [bootstrapServers], brokers: 1 } } },
  };
  const owner = { team: benchPrincipal.team, contact: "#bench" };

  // The store as the server will open it, with the seeded topics READY at revision 1.
  const loaded = parseServiceConfig(
    {
      dataDir,
      engine: { passphrase: "bench-passphrase" },
      secrets: { key: "bench-secret-key-0123456789" },
      store: { sqlite: { synchronous: "FULL" } },
      principals: [
        { id: "bench", team: "payments", roles: ["requester"], tokenSha256: sha256Hex(benchPrincipal.token) },
      ],
      plugins: [plugin],
    },
    dataDir,
  );
  const { store } = await openStore(loaded, createLogger({ level: "warn", destination: process.stderr }));
  const now = new Date().toISOString();
  for (let i = 0; i < seeded.length; i += 500) {
    await store.transact(async (tx) => {
      for (const record of seeded.slice(i, i + 500)) {
        await tx.upsertResource({
          type: "kafka.topic",
          name: record.name,
          identity: record.identity,
          ownerTeam: owner.team,
          status: "READY",
          revision: 1,
          spec: { cluster: "local", partitions: 1, owner },
          resolvedSpec: record.spec as never,
          outputs: {},
          secretOutputs: null,
          secretOutputKeys: [],
          labels: {},
          createdAt: now,
          updatedAt: now,
          drift: null,
        });
      }
    });
  }
  await store.close();

  let server: { url: string; pid: number; process: ChildProcess } | undefined;
  async function startServer(reconcile: Record<string, number>) {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(benchDir, "plinth-kafka-server.ts"),
        dataDir,
        bootstrapServers,
        JSON.stringify({ reconcile }),
      ],
      { cwd: join(benchDir, ".."), stdio: ["ignore", "pipe", "pipe"], env },
    );
    // Its log: only warnings and errors are shown (a late round among them).
    createInterface({ input: child.stderr! }).on("line", (line) => {
      try {
        const entry = JSON.parse(line) as { level: number; msg: string };
        if (entry.level >= 40) console.log(`  [server] ${entry.msg} ${line.length > 300 ? "" : line}`);
      } catch {
        process.stderr.write(`  [server] ${line}\n`);
      }
    });
    const ready = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`the server exited with ${code} before serving`)));
      createInterface({ input: child.stdout! }).once("line", (line) => resolve(JSON.parse(line)));
    });
    server = { ...ready, process: child };
    const transport = createConnectTransport({
      baseUrl: ready.url,
      httpVersion: "1.1",
      interceptors: [
        (next) => async (req) => {
          req.header.set("authorization", `Bearer ${benchPrincipal.token}`);
          return await next(req);
        },
      ],
    });
    return { resources: createClient(ResourceService, transport), changes: createClient(ChangeService, transport) };
  }
  async function stopServer() {
    const child = server?.process;
    server = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  }
  async function metric(name: string, labels = ""): Promise<number> {
    const text = await (await fetch(`${server!.url}/metrics`)).text();
    const line = text.split("\n").find((candidate) => candidate.startsWith(`${name}${labels} `));
    return line ? Number(line.split(" ").at(-1)) : 0;
  }
  type Clients = Awaited<ReturnType<typeof startServer>>;
  /** ApplyResource, then watch the change; milliseconds from the call to SUCCEEDED. */
  async function apply(clients: Clients, name: string): Promise<number> {
    const started = Date.now();
    const { change } = await clients.resources.applyResource({
      type: "kafka.topic",
      name,
      spec: { cluster: "local", partitions: 1, owner } as never,
      requestId: `bench-${name}`,
    });
    for await (const update of clients.changes.watchChange({ id: change!.id })) {
      const status = update.change?.status;
      if (status === ChangeStatus.SUCCEEDED) return Date.now() - started;
      if (status === ChangeStatus.FAILED || status === ChangeStatus.CANCELLED)
        throw new Error(`${name}: ${ChangeStatus[status]} ${update.change?.lastError ?? ""}`);
    }
    throw new Error(`${name}: the watch ended before SUCCEEDED`);
  }
  const deleteOutOfBand = async (name: string) => {
    const hand = new Admin({ clientId: "bench-drift-hand", bootstrapBrokers: [bootstrapServers] });
    try {
      await hand.deleteTopics({ topics: [name] });
    } finally {
      await hand.close();
    }
  };

  try {
    // ---- part 2: detection at the default interval ----
    let clients = await startServer({});
    const victims = Array.from({ length: Math.max(detections, 3) }, (_, i) => `bench.victim.${i}`);
    // Applied through Plinth (real Pulumi stacks), two at a time as the engine's slots allow.
    await Promise.all(victims.map((name) => apply(clients, name)));
    const managed = seeded.length + victims.length;
    console.log(
      `end to end: ${managed} managed topics (${victims.length} applied through Plinth), reconcile every 60 s`,
    );
    const found: number[] = [];
    for (let run = 0; run < detections; run++) {
      // A random moment in the round's cycle.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 60_000));
      const cpuBefore = treeCpuSeconds(server!.pid);
      const roundsBefore = await metric("plinth_reconcile_round_duration_seconds_count");
      const roundSecondsBefore = await metric("plinth_reconcile_round_duration_seconds_sum");
      const deleted = Date.now();
      await deleteOutOfBand(victims[run]!);
      for (;;) {
        const { resource } = await clients.resources.getResource({ type: "kafka.topic", name: victims[run]! });
        if (resource?.status === ResourceStatus.DRIFTED) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const seconds = (Date.now() - deleted) / 1000;
      found.push(seconds);
      const roundCount = (await metric("plinth_reconcile_round_duration_seconds_count")) - roundsBefore;
      const roundSeconds = (await metric("plinth_reconcile_round_duration_seconds_sum")) - roundSecondsBefore;
      console.log(
        `  detection ${run + 1}: DRIFTED ${seconds.toFixed(1)} s after the delete; rounds ended meanwhile ${roundCount} (${roundSeconds.toFixed(1)} s wall); server tree CPU ${(treeCpuSeconds(server!.pid) - cpuBefore).toFixed(1)} s; load ${load()}`,
      );
    }
    if (found.length > 0) {
      console.log(
        `detection at the default interval: p50 ${median(found).toFixed(1)} s, max ${Math.max(...found).toFixed(1)} s (${found.map((s) => s.toFixed(1)).join(" / ")})`,
      );
      // A round's own cost: from one round's end to the next's, the deleted topics DRIFTED (each gets its refreshing preview).
      const ended = await metric("plinth_reconcile_round_duration_seconds_count");
      while ((await metric("plinth_reconcile_round_duration_seconds_count")) === ended)
        await new Promise((resolve) => setTimeout(resolve, 500));
      const cpuBefore = treeCpuSeconds(server!.pid);
      const serverCpuBefore = await metric("plinth_process_process_cpu_seconds_total");
      const count0 = await metric("plinth_reconcile_round_duration_seconds_count");
      const sum0 = await metric("plinth_reconcile_round_duration_seconds_sum");
      const refresh0 = await metric("plinth_reconcile_observations_total", '{type="kafka.topic",method="refresh"}');
      const bulk0 = await metric("plinth_reconcile_observations_total", '{type="kafka.topic",method="bulk"}');
      while ((await metric("plinth_reconcile_round_duration_seconds_count")) === count0)
        await new Promise((resolve) => setTimeout(resolve, 500));
      const wall = (await metric("plinth_reconcile_round_duration_seconds_sum")) - sum0;
      const refresh =
        (await metric("plinth_reconcile_observations_total", '{type="kafka.topic",method="refresh"}')) - refresh0;
      const bulk = (await metric("plinth_reconcile_observations_total", '{type="kafka.topic",method="bulk"}')) - bulk0;
      console.log(
        `one round over ${managed} topics, ${bulk} compared in bulk, ${refresh} refreshing previews: ${wall.toFixed(2)} s wall; CPU over the interval and the round: server ${((await metric("plinth_process_process_cpu_seconds_total")) - serverCpuBefore).toFixed(2)} s, server with engine children ${(treeCpuSeconds(server!.pid) - cpuBefore).toFixed(2)} s; load ${load()}`,
      );
    }
    await stopServer();

    // ---- part 3: an apply while a round runs, against reconciling off ----
    if (applies > 0) {
      // Several suspects: the deleted victims stay DRIFTED, so every round previews each of them.
      for (const name of victims.slice(detections)) await deleteOutOfBand(name);
      const refreshes = () => metric("plinth_reconcile_observations_total", '{type="kafka.topic",method="refresh"}');
      const measure = async (label: string, reconcile: Record<string, number>) => {
        clients = await startServer(reconcile);
        if (reconcile.intervalMs) {
          // Until the first refreshing preview, so rounds with suspects are underway.
          while ((await refreshes()) === 0) await new Promise((resolve) => setTimeout(resolve, 200));
        }
        await apply(clients, `bench.apply.${label}.warm`); // not counted: the first after a start
        const cpuBefore = treeCpuSeconds(server!.pid);
        const started = Date.now();
        const times: number[] = [];
        const during: number[] = [];
        for (let i = 0; i < applies; i++) {
          // A random pause first, as people submit: with rounds running, some land on a preview already under way.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 8_000));
          const refresh0 = await refreshes();
          times.push(await apply(clients, `bench.apply.${label}.${i}`));
          during.push((await refreshes()) - refresh0);
        }
        const wall = (Date.now() - started) / 1000;
        console.log(
          `  ${label}: Apply to SUCCEEDED p50 ${median(times)} ms (${times.join(" / ")}); refreshing previews started during each ${during.join("/")}; server tree CPU ${(treeCpuSeconds(server!.pid) - cpuBefore).toFixed(1)} s over ${wall.toFixed(1)} s; load ${load()}`,
        );
        await stopServer();
        return times;
      };
      // Off and on alternate, so that the shared machine's load moving meanwhile weighs on both alike.
      console.log(
        `apply during reconcile rounds (${victims.length} DRIFTED suspects), ${cycles} cycles of off then on:`,
      );
      const off: number[] = [];
      const on: number[] = [];
      for (let cycle = 1; cycle <= cycles; cycle++) {
        off.push(...(await measure(`off${cycle}`, { intervalMs: 0 })));
        on.push(...(await measure(`on${cycle}`, { intervalMs: 2_000 })));
      }
      console.log(
        `Apply to SUCCEEDED p50: reconciling off ${median(off)} ms, rounds running ${median(on)} ms; ratio ${(median(on) / median(off)).toFixed(2)}`,
      );
    }
  } finally {
    await stopServer();
    rmSync(scratch, { recursive: true, force: true });
  }
}
