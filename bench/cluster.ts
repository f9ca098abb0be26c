// The replicas benchmark (issue 14): ApplyResource on PostgreSQL with 1 and 3 replicas, side by side with the
// SQLite store and the bare handler in one run, and the worker's drain rate (no-op engine) with 1 and 3
// replicas. See bench/README.md.
//
//   bench/cluster.sh [--warmup 2] [--duration 8] [--concurrency 50] [--drain 2000] [--pool N] [--quiet SECONDS]
import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { type PostgresServer, startPostgres } from "../packages/testing/src/index.ts";
import { postgresBinDir } from "../packages/testing/src/toolchain.ts";
import type { ServerReady } from "./common.ts";
import type { LoadJob, LoadResult, LoaderMessage, SeedJob } from "./load.ts";

const benchDir = import.meta.dirname;
const repoRoot = resolve(benchDir, "..");
const { values: args } = parseArgs({
  options: {
    warmup: { type: "string", default: "2" },
    duration: { type: "string", default: "8" },
    concurrency: { type: "string", default: "50" },
    drain: { type: "string", default: "2000" },
    // Connections per replica (the store's `poolSize`); unset, the store's default.
    pool: { type: "string" },
    quiet: { type: "string", default: "0" },
  },
});
const options = {
  warmupMs: Number(args.warmup) * 1000,
  durationMs: Number(args.duration) * 1000,
  concurrency: Number(args.concurrency),
  drainChanges: Number(args.drain),
  quietMs: Number(args.quiet) * 1000,
};
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const scratch = mkdtempSync(join(tmpdir(), "plinth-bench-cluster-"));

// ---- CPU from /proc: the servers', and the whole machine's --------------------------------------------------------

const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

function machineBusySeconds(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - fields[3]! - fields[4]!) / clockTicks;
}

/** CPU seconds of a PostgreSQL server's processes (the postmaster and its backends), by pid. */
function databaseCpu(postgres: PostgresServer | undefined): Map<number, number> {
  const cpu = new Map<number, number>();
  if (!postgres) return cpu;
  const root = Number(readFileSync(join(postgres.dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (Number(entry) === root || parent === root) cpu.set(Number(entry), cpuSeconds(Number(entry)));
    } catch {
      // Gone meanwhile.
    }
  }
  return cpu;
}

/**
 * CPU over a window, in % of one core: the given processes together, the PostgreSQL server's (backends that
 * exit inside the window are not counted), and the machine (2 cores: at most 200).
 */
function cpuWindow(pids: number[], postgres?: PostgresServer) {
  const started = performance.now();
  const servers = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const database = databaseCpu(postgres);
  const machine = machineBusySeconds();
  return () => {
    const seconds = (performance.now() - started) / 1000;
    let databaseSeconds = 0;
    for (const [pid, cpu] of databaseCpu(postgres)) databaseSeconds += cpu - (database.get(pid) ?? 0);
    return {
      serverCpu: ((pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - servers) / seconds) * 100,
      databaseCpu: postgres ? (databaseSeconds / seconds) * 100 : Number.NaN,
      machineCpu: ((machineBusySeconds() - machine) / seconds) * 100,
    };
  };
}

/** Transactions PostgreSQL committed and rolled back in the benchmark's database (pg_stat_database). */
async function transactionCounts(
  postgres: PostgresServer | undefined,
): Promise<{ commits: number; rollbacks: number }> {
  if (!postgres) return { commits: Number.NaN, rollbacks: Number.NaN };
  // The statistics are sent when a backend's transaction ends, at most every second: let the last ones land.
  await sleep(1_500);
  const [commits, rollbacks] = execFileSync(join(postgresBinDir(), "psql"), [
    "-Atc",
    "SELECT xact_commit || ' ' || xact_rollback FROM pg_stat_database WHERE datname = current_database()",
    postgres.connectionString,
  ])
    .toString()
    .trim()
    .split(" ")
    .map(Number);
  return { commits: commits!, rollbacks: rollbacks! };
}

/** Store transactions the replicas ran again (plinth_store_transaction_retries_total, all codes). */
async function storeRetries(servers: Server[]): Promise<number> {
  let total = 0;
  for (const server of servers) {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const line of text.split("\n")) {
      if (line.startsWith("plinth_store_transaction_retries_total{")) total += Number(line.split(" ").at(-1));
    }
  }
  return total;
}

async function waitForQuiet(): Promise<void> {
  const deadline = Date.now() + options.quietMs;
  while (Date.now() < deadline) {
    const before = machineBusySeconds();
    await sleep(1000);
    if ((machineBusySeconds() - before) * 100 < 15) return;
  }
}

// ---- servers -------------------------------------------------------------------------------------------------------

interface Server extends ServerReady {
  process: ChildProcess;
}

async function startServer(script: string, serverArgs: string[]): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", join(benchDir, script), ...serverArgs], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<ServerReady>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${script} did not start within 60 s`)), 60_000);
    child.once("exit", (code) => fail(new Error(`${script} exited with ${code} before serving`)));
    lines.once("line", (line) => {
      clearTimeout(timer);
      done(JSON.parse(line) as ServerReady);
    });
  });
  return { ...ready, process: child };
}

async function stopServers(servers: Server[]): Promise<void> {
  await Promise.all(
    servers.map(async (server) => {
      if (server.process.exitCode !== null) return;
      const exited = new Promise((done) => server.process.once("exit", done));
      server.process.kill("SIGTERM");
      const timer = setTimeout(() => server.process.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

let replicaDirs = 0;
const replica = (postgres: PostgresServer, worker = true) =>
  startServer("cluster-server.ts", [
    join(scratch, `replica-${replicaDirs++}`),
    postgres.connectionString,
    ...(worker ? [] : ["--no-worker"]),
    ...(args.pool === undefined ? [] : ["--pool", args.pool]),
  ]);

// ---- the load generator (bench/load.ts, in a process of its own) ---------------------------------------------------

const loader = fork(join(benchDir, "load.ts"), [], { execArgv: ["--import", "tsx"], cwd: repoRoot });

function loadJob<T extends LoaderMessage["kind"]>(
  job: LoadJob | SeedJob,
  expect: T,
  onWindow?: (phase: "start" | "end") => void,
): Promise<Extract<LoaderMessage, { kind: T }>> {
  return new Promise((done, fail) => {
    const onMessage = (message: LoaderMessage) => {
      if (message.kind === "window") return onWindow?.(message.phase);
      loader.off("message", onMessage);
      if (message.kind === "failed") fail(new Error(`load generator failed: ${message.message}`));
      else if (message.kind === expect) done(message as Extract<LoaderMessage, { kind: T }>);
      else fail(new Error(`unexpected message from the load generator: ${message.kind}`));
    };
    loader.on("message", onMessage);
    loader.send(job);
  });
}

interface ApplyRow extends LoadResult {
  target: string;
  serverCpu: number;
  databaseCpu: number;
  machineCpu: number;
  /** The 1-minute load average when the measured window ended. */
  load: number;
  /** The whole run (warm-up included), on PostgreSQL. */
  commits: number;
  rollbacks: number;
  retries: number;
}

async function applyLoad(target: string, servers: Server[], postgres?: PostgresServer): Promise<ApplyRow> {
  await waitForQuiet();
  let window: ReturnType<typeof cpuWindow> | undefined;
  let cpu = { serverCpu: Number.NaN, databaseCpu: Number.NaN, machineCpu: Number.NaN };
  let load = Number.NaN;
  const before = await transactionCounts(postgres);
  const { result } = await loadJob(
    {
      kind: "load",
      url: servers.map((server) => server.url).join(","),
      client: "raw",
      rpc: "apply",
      concurrency: options.concurrency,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      namePrefix: `apply-${target.replace(/\W+/g, "-")}`,
    },
    "result",
    (phase) => {
      if (phase === "start")
        window = cpuWindow(
          servers.map((server) => server.pid),
          postgres,
        );
      else {
        cpu = window!();
        load = loadavg()[0]!;
      }
    },
  );
  const after = await transactionCounts(postgres);
  const retries = postgres ? await storeRetries(servers) : Number.NaN;
  log(`  ${target}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99.toFixed(1)} ms`);
  return {
    target,
    ...result,
    ...cpu,
    load,
    commits: after.commits - before.commits,
    rollbacks: after.rollbacks - before.rollbacks,
    retries,
  };
}

async function queueDepth(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^plinth_queue_depth (\S+)$/m.exec(text);
  if (!match) throw new Error("no plinth_queue_depth in /metrics");
  return Number(match[1]);
}

interface DrainRow {
  replicas: number;
  changes: number;
  seconds: number;
  rate: number;
  serverCpu: number;
  databaseCpu: number;
  machineCpu: number;
  load: number;
  retries: number;
}

/** Queues `drainChanges` changes with no worker running, then lets `count` replicas apply them all. */
async function drain(count: number): Promise<DrainRow> {
  const postgres = await startPostgres({ durable: true });
  try {
    const seeder = await replica(postgres, false);
    const seeded = await loadJob(
      { kind: "seed", url: seeder.url, prefix: "drain", count: options.drainChanges, concurrency: 16 },
      "seeded",
    );
    await stopServers([seeder]);
    if (Object.keys(seeded.errors).length > 0) log(`  seeding errors: ${JSON.stringify(seeded.errors)}`);
    await waitForQuiet();
    const replicas = await Promise.all(Array.from({ length: count }, () => replica(postgres)));
    // From the moment the last replica serves: what the first ones drained meanwhile is not counted.
    const started = performance.now();
    const window = cpuWindow(
      replicas.map((server) => server.pid),
      postgres,
    );
    const queued = await queueDepth(replicas[0]!.url);
    while ((await queueDepth(replicas[0]!.url)) > 0) await sleep(100);
    const seconds = (performance.now() - started) / 1000;
    const cpu = window();
    const load = loadavg()[0]!;
    const retries = await storeRetries(replicas);
    await stopServers(replicas);
    log(`  drain with ${count}: ${queued} changes in ${seconds.toFixed(1)} s`);
    return { replicas: count, changes: queued, seconds, rate: queued / seconds, ...cpu, load, retries };
  } finally {
    await postgres.stop();
  }
}

// ---- the run -------------------------------------------------------------------------------------------------------

const rows: ApplyRow[] = [];
const drains: DrainRow[] = [];
try {
  log("ApplyResource:");
  const bare = await startServer("bare-server.ts", []);
  rows.push(await applyLoad("bare handler", [bare]));
  await stopServers([bare]);
  const sqlite = await startServer("plinth-server.ts", [join(scratch, "sqlite")]);
  rows.push(await applyLoad("Plinth, SQLite", [sqlite]));
  await stopServers([sqlite]);
  for (const count of [1, 3]) {
    const postgres = await startPostgres({ durable: true });
    try {
      // One first, so that migrations run once; then the others.
      const first = await replica(postgres);
      const servers = [first, ...(await Promise.all(Array.from({ length: count - 1 }, () => replica(postgres))))];
      rows.push(await applyLoad(`Plinth, PostgreSQL, ${count} replica${count > 1 ? "s" : ""}`, servers, postgres));
      await stopServers(servers);
    } finally {
      await postgres.stop();
    }
  }
  log("Drain (no-op engine):");
  for (const count of [1, 3]) drains.push(await drain(count));
} finally {
  loader.disconnect();
  rmSync(scratch, { recursive: true, force: true });
}

const bareRps = rows[0]!.rps;
const fixed = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : "–");
const cpuPerRequest = (row: ApplyRow) =>
  (((row.serverCpu + (Number.isNaN(row.databaseCpu) ? 0 : row.databaseCpu)) / 100) * 1e6) / row.rps;
const table = [
  `Apply: ${options.concurrency} client loops, ${options.durationMs / 1000} s measured after ${options.warmupMs / 1000} s warm-up, one run each; CPU in % of one core (the machine has ${execFileSync("nproc").toString().trim()} cores). CPU/req: Plinth's and PostgreSQL's CPU per request. Transactions: PostgreSQL's commits and rollbacks and the store's retries over the whole run, warm-up included.`,
  "",
  "| target | req/s | × bare | p50 ms | p99 ms | errors | server CPU % | PostgreSQL CPU % | CPU/req µs | machine CPU % | load avg | commits | rollbacks | store retries |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rows.map(
    (row) =>
      `| ${row.target} | ${fixed(row.rps)} | ${fixed(row.rps / bareRps, 2)} | ${fixed(row.p50, 1)} | ${fixed(row.p99, 1)} | ${Object.values(row.errors).reduce((a, b) => a + b, 0)} | ${fixed(row.serverCpu)} | ${fixed(row.databaseCpu)} | ${fixed(cpuPerRequest(row))} | ${fixed(row.machineCpu)} | ${fixed(row.load, 1)} | ${fixed(row.commits)} | ${fixed(row.rollbacks)} | ${fixed(row.retries)} |`,
  ),
  "",
  `Drain: ${options.drainChanges} changes queued with no worker, then applied by the replicas' workers (production defaults, no-op engine).`,
  "",
  "| replicas | changes | seconds | changes/s | × 1 replica | servers' CPU % | PostgreSQL CPU % | machine CPU % | load avg | store retries |",
  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...drains.map(
    (row) =>
      `| ${row.replicas} | ${row.changes} | ${fixed(row.seconds, 1)} | ${fixed(row.rate)} | ${fixed(row.rate / drains[0]!.rate, 2)} | ${fixed(row.serverCpu)} | ${fixed(row.databaseCpu)} | ${fixed(row.machineCpu)} | ${fixed(row.load, 1)} | ${fixed(row.retries)} |`,
  ),
].join("\n");
process.stdout.write(`${table}\n`);
process.exit(0);
