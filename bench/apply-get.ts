// The benchmark driver: ApplyResource and GetResource through the real Plinth
// server next to a bare connect-node handler, in one run. See bench/README.md.
//
//   bench/run.sh [--rounds 3] [--warmup 2] [--duration 8] [--concurrency 50]
//                [--get-resources 1000] [--client raw|connect] [--worker-off]
//                [--quiet SECONDS] [--cpu-prof DIR] [--what-if a,b] [--jwt] [--write]
//                [--only apply|get] [--compare-ref GIT-REF]
import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, cpus, release, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { type DevIdp, startDevIdp } from "../packages/testing/src/dev-idp.ts";
import type { ServerReady } from "./common.ts";
import type { ClientKind, LoadJob, LoadResult, LoaderMessage, SeedJob } from "./load.ts";
import { benchJwtService } from "./plinth-setup.ts";

const benchDir = import.meta.dirname;
const repoRoot = resolve(benchDir, "..");

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    warmup: { type: "string", default: "2" },
    duration: { type: "string", default: "8" },
    concurrency: { type: "string", default: "50" },
    "get-resources": { type: "string", default: "1000" },
    "worker-off": { type: "boolean", default: false },
    write: { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
    quiet: { type: "string", default: "0" },
    client: { type: "string", default: "raw" },
    "what-if": { type: "string", default: "" },
    only: { type: "string", default: "" },
    "compare-ref": { type: "string", default: "" },
    jwt: { type: "boolean", default: false },
  },
});
const options = {
  rounds: Number(args.rounds),
  warmupMs: Number(args.warmup) * 1000,
  durationMs: Number(args.duration) * 1000,
  concurrency: Number(args.concurrency),
  getResources: Number(args["get-resources"]),
  workerOff: args["worker-off"],
  write: args.write,
  cpuProf: args["cpu-prof"] ? resolve(args["cpu-prof"]) : undefined,
  /** Before each target, wait up to this long for a second in which other processes use < 15 % of a core. */
  quietMs: Number(args.quiet) * 1000,
  client: args.client as ClientKind,
  /** Bench-only patches of the Plinth server that try a suggested change (bench/what-if.ts). */
  whatIf: args["what-if"],
  /** Measure only Plinth's ApplyResource or GetResource (and the bare handler). */
  only: args.only as "" | "apply" | "get",
  /** Also measure Plinth with core as it is at this commit, in the same rounds (see `comparedCore`). */
  compareRef: args["compare-ref"],
  /** Also measure Apply and Get with an identity provider's JWT, paired with the static token in each round. */
  jwt: args.jwt,
};
if (!["", "apply", "get"].includes(options.only)) throw new Error("--only is apply or get");
if (options.cpuProf) mkdirSync(options.cpuProf, { recursive: true });
if (options.client !== "raw" && options.client !== "connect") throw new Error("--client is raw or connect");

type TargetName =
  | "bare-apply"
  | "bare-get"
  | "plinth-apply"
  | "plinth-get"
  | "plinth-apply-no-worker"
  | "ref-plinth-apply"
  | "ref-plinth-get"
  | "plinth-apply-jwt"
  | "plinth-get-jwt";

/** How the load generator authenticates: the static bench token, or a JWT from the development provider. */
type Auth = "static" | "jwt";

interface Run extends LoadResult {
  /** CPU used over the measured window, in % of one core, from /proc. */
  serverCpu: number;
  loaderCpu: number;
  /** Server CPU time per request, in µs: the cost that contention from other processes hardly changes. */
  serverCpuUsPerRequest: number;
  /** CPU used by every other process on the machine over the window, in % of one core: noise from outside. */
  otherCpu: number;
  rssIdleMb: number;
  rssPeakMb: number;
  /** plinth-apply only: changes submitted in the whole run (warm-up included) and applied by the worker by its end. */
  submitted?: number;
  applied?: number;
  /** plinth-get only: changes/s the worker applied once seeding was over (no requests coming in). */
  drainRate?: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the server under test: its own process, sampled through /proc --------

interface Server extends ServerReady {
  process: ChildProcess;
}

const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** Busy CPU seconds of the whole machine so far (all cores; idle and iowait excluded). */
function machineBusySeconds(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - fields[3]! - fields[4]!) / clockTicks;
}

async function startServer(script: string, args: string[], label: string, core?: string): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", join(benchDir, script), ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "inherit"],
    env: {
      ...process.env,
      ...(options.cpuProf ? { BENCH_PROFILE_DIR: options.cpuProf, BENCH_PROFILE_LABEL: label } : {}),
      ...(core ? { BENCH_CORE: core } : {}),
    },
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<ServerReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 120 s`)), 120_000);
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code} before serving`)));
    lines.once("line", (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as ServerReady);
    });
  });
  return { ...ready, process: child };
}

async function stopServer(server: Server): Promise<void> {
  if (server.process.exitCode !== null) return;
  const exited = new Promise((resolve) => server.process.once("exit", resolve));
  server.process.kill("SIGTERM");
  const timer = setTimeout(() => server.process.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

/**
 * On a shared machine other processes steal the cores the benchmark needs;
 * with --quiet N, wait up to N s for a second in which they use < 15 % of a
 * core (the server under test is idle then, so the whole machine counts).
 */
async function waitForQuiet(): Promise<void> {
  const deadline = Date.now() + options.quietMs;
  while (Date.now() < deadline) {
    const before = machineBusySeconds();
    await sleep(1000);
    if ((machineBusySeconds() - before) * 100 < 15) return;
  }
  if (options.quietMs > 0) log(`  (the machine stayed busy for ${options.quietMs / 1000} s; measuring anyway)`);
}

/** RSS after start-up, once the process has settled. */
async function idleRss(server: Server): Promise<number> {
  await sleep(1000);
  return rssMb(server.pid);
}

async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^(plinth_[a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match?.[1]) values.set(match[1], Number(match[2]));
  }
  return values;
}

// ---- the load generator: one forked process for the whole run -------------

const loader = fork(join(benchDir, "load.ts"), [], { execArgv: ["--import", "tsx"], cwd: repoRoot });

function loadJob<T extends LoaderMessage["kind"]>(
  job: LoadJob | SeedJob,
  expect: T,
  onWindow?: (phase: "start" | "end") => void,
): Promise<Extract<LoaderMessage, { kind: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: LoaderMessage) => {
      if (message.kind === "window") return onWindow?.(message.phase);
      loader.off("message", onMessage);
      if (message.kind === "failed") reject(new Error(`load generator failed: ${message.message}`));
      else if (message.kind === expect) resolve(message as Extract<LoaderMessage, { kind: T }>);
      else reject(new Error(`unexpected message from the load generator: ${message.kind}`));
    };
    loader.on("message", onMessage);
    loader.send(job);
  });
}

/** Runs one load against a server, sampling its RSS every 100 ms and its CPU over the measured window. */
async function measure(
  server: Server,
  job: Omit<LoadJob, "kind" | "url" | "client" | "concurrency" | "warmupMs" | "durationMs">,
) {
  await waitForQuiet();
  let peak = rssMb(server.pid);
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(server.pid));
  }, 100);
  const pids = [server.pid, loader.pid!];
  let cpuStart: number[] = [];
  let cpuWindow: number[] = [];
  let started = 0;
  const { result } = await loadJob(
    {
      kind: "load",
      url: server.url,
      client: options.client,
      concurrency: options.concurrency,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      ...job,
    },
    "result",
    (phase) => {
      const sample = () => [...pids.map(cpuSeconds), machineBusySeconds()];
      // With --cpu-prof, SIGUSR2 starts and stops the server's profiler (bench/window-profiler.ts).
      if (options.cpuProf) server.process.kill("SIGUSR2");
      if (phase === "start") {
        cpuStart = sample();
        started = performance.now();
      } else {
        const seconds = (performance.now() - started) / 1000;
        cpuWindow = sample().map((value, index) => ((value - cpuStart[index]!) / seconds) * 100);
      }
    },
  );
  clearInterval(sampler);
  peak = Math.max(peak, rssMb(server.pid));
  const [serverCpu = 0, loaderCpu = 0, machineCpu = 0] = cpuWindow;
  return {
    ...result,
    serverCpu,
    loaderCpu,
    otherCpu: Math.max(0, machineCpu - serverCpu - loaderCpu),
    serverCpuUsPerRequest: (serverCpu / 100 / result.rps) * 1e6,
    rssPeakMb: peak,
  };
}

// ---- the targets -----------------------------------------------------------

const dataRoot = join(benchDir, ".plinth"); // ignored by git (.plinth/), on the repo's disk (not a tmpfs)

function newDataDir(): string {
  mkdirSync(dataRoot, { recursive: true });
  return mkdtempSync(join(dataRoot, "run-"));
}

async function runBare(round: number): Promise<Partial<Record<TargetName, Run>>> {
  const server = await startServer("bare-server.ts", [], `bare-r${round}`);
  try {
    const rssIdleMb = await idleRss(server);
    const runs: Partial<Record<TargetName, Run>> = {};
    if (options.only !== "apply") {
      const get = await measure(server, { rpc: "get", namePrefix: "", getPrefix: "bench", getCount: 1 });
      runs["bare-get"] = { ...get, rssIdleMb };
    }
    if (options.only !== "get") {
      const apply = await measure(server, { rpc: "apply", namePrefix: `r${round}` });
      runs["bare-apply"] = { ...apply, rssIdleMb };
    }
    return runs;
  } finally {
    await stopServer(server);
  }
}

/**
 * With --jwt the development provider runs for the whole benchmark, and every
 * Plinth server trusts it (the static targets too, so that a pair differs in
 * the token alone). Its token lives an hour: verified once per connection and
 * again only when it changes or runs out (auth.ts), as for any client.
 */
let idp: DevIdp | undefined;
let jwt = "";
const plinthFlags = () => [
  ...(options.whatIf ? ["--what-if", options.whatIf] : []),
  ...(idp ? ["--oidc-issuer", idp.issuer] : []),
];
const tokenFor = (auth: Auth) => (auth === "jwt" ? { token: jwt } : {});
const suffix = (auth: Auth): "" | "-jwt" => (auth === "jwt" ? "-jwt" : "");

/**
 * With --compare-ref, packages/core/src as it is at that commit, written to
 * packages/core/.bench-ref/src (ignored by git): under packages/core, so it
 * resolves core's own node_modules, and each round starts a server on it
 * beside one on the working tree's core. Returns its entry point.
 */
function comparedCore(ref: string): string {
  const root = join(repoRoot, "packages/core/.bench-ref");
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const archive = execFileSync("git", ["archive", ref, "--", "src"], { cwd: join(repoRoot, "packages/core") });
  execFileSync("tar", ["-x", "-C", root], { input: archive });
  return join(root, "src/index.ts");
}
const refCore = options.compareRef ? comparedCore(options.compareRef) : undefined;

async function runPlinthApply(round: number, worker: boolean, core?: string, auth: Auth = "static"): Promise<Run> {
  const dataDir = newDataDir();
  const server = await startServer(
    "plinth-server.ts",
    [dataDir, ...(worker ? [] : ["--no-worker"]), ...plinthFlags()],
    `${core ? "ref-" : ""}plinth-apply${worker ? "" : "-no-worker"}${suffix(auth)}-r${round}`,
    core,
  );
  try {
    const rssIdleMb = await idleRss(server);
    const run = await measure(server, { rpc: "apply", namePrefix: `r${round}`, ...tokenFor(auth) });
    const metrics = await scrape(server.url);
    const submitted = [...metrics].filter(([k]) => k.startsWith("plinth_changes{")).reduce((n, [, v]) => n + v, 0);
    const applied = metrics.get('plinth_changes{status="SUCCEEDED"}') ?? 0;
    if (submitted !== run.total)
      log(`  warning: ${run.total} applies succeeded but the store holds ${submitted} changes`);
    return { ...run, rssIdleMb, submitted, applied };
  } finally {
    await stopServer(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function runPlinthGet(round: number, core?: string, auth: Auth = "static"): Promise<Run> {
  const dataDir = newDataDir();
  const server = await startServer(
    "plinth-server.ts",
    [dataDir, ...plinthFlags()],
    `${core ? "ref-" : ""}plinth-get${suffix(auth)}-r${round}`,
    core,
  );
  try {
    const rssIdleMb = await idleRss(server);
    const seeded = await loadJob(
      {
        kind: "seed",
        url: server.url,
        prefix: "get",
        count: options.getResources,
        concurrency: options.concurrency,
        ...tokenFor(auth),
      },
      "seeded",
    );
    if (seeded.created !== options.getResources) throw new Error(`seeding failed: ${JSON.stringify(seeded.errors)}`);
    // Let the worker apply every seeded change first: GetResource then reads READY resources on a quiet server.
    // How fast it does so, with no requests coming in, is the worker's own pace with a no-op engine.
    const appliedNow = async () => (await scrape(server.url)).get('plinth_changes{status="SUCCEEDED"}') ?? 0;
    const drainStart = performance.now();
    const appliedAtStart = await appliedNow();
    // 180 s: on a machine shared with other work the worker has been seen to need more than a minute for 1,000.
    const deadline = Date.now() + 180_000;
    while ((await appliedNow()) < options.getResources) {
      if (Date.now() > deadline) throw new Error("the worker did not apply the seeded resources within 180 s");
      await sleep(50);
    }
    const drainRate = (options.getResources - appliedAtStart) / ((performance.now() - drainStart) / 1000);
    const run = await measure(server, {
      rpc: "get",
      namePrefix: "",
      getPrefix: "get",
      getCount: options.getResources,
      ...tokenFor(auth),
    });
    return { ...run, rssIdleMb, drainRate };
  } finally {
    await stopServer(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---- summary ---------------------------------------------------------------

const median = (values: number[]): number => {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const fixed = (value: number | undefined, digits = 1) =>
  value === undefined || Number.isNaN(value) ? "–" : value.toFixed(digits);
const thousands = (value: number) => Math.round(value).toLocaleString("en-US");

const labels: Record<TargetName, string> = {
  "bare-get": "bare handler, GetResource (constant)",
  "bare-apply": "bare handler, ApplyResource (constant)",
  "plinth-apply": "Plinth ApplyResource (durable, worker on)",
  "plinth-apply-no-worker": "Plinth ApplyResource (durable, worker off)",
  "plinth-get": "Plinth GetResource",
  "ref-plinth-apply": `Plinth ApplyResource at ${options.compareRef}`,
  "ref-plinth-get": `Plinth GetResource at ${options.compareRef}`,
  "plinth-apply-jwt": "Plinth ApplyResource, JWT (dev provider, RS256)",
  "plinth-get-jwt": "Plinth GetResource, JWT (dev provider, RS256)",
};
const baselineOf: Record<TargetName, TargetName | undefined> = {
  "bare-get": undefined,
  "bare-apply": undefined,
  "plinth-apply": "bare-apply",
  "plinth-apply-no-worker": "bare-apply",
  "plinth-get": "bare-get",
  "ref-plinth-apply": "bare-apply",
  "ref-plinth-get": "bare-get",
  "plinth-apply-jwt": "bare-apply",
  "plinth-get-jwt": "bare-get",
};

function summarize(rounds: Partial<Record<TargetName, Run>>[], seconds: number, codeChanged: boolean): string {
  const order: TargetName[] = [
    "bare-apply",
    "bare-get",
    "ref-plinth-apply",
    "plinth-apply",
    "plinth-apply-jwt",
    "ref-plinth-get",
    "plinth-get",
    "plinth-get-jwt",
    "plinth-apply-no-worker",
  ];
  const runsOf = (name: TargetName) => rounds.map((r) => r[name]).filter((r): r is Run => !!r);
  const med = (name: TargetName, pick: (run: Run) => number | undefined) =>
    median(runsOf(name).map((r) => pick(r) ?? Number.NaN));
  /** Throughput ratio to the target's baseline, and the same by server CPU per request (robust to contention). */
  const ratios = (name: TargetName) => {
    const base = baselineOf[name];
    if (!base) return undefined;
    return {
      rps: med(name, (r) => r.rps) / med(base, (r) => r.rps),
      cpu: med(base, (r) => r.serverCpuUsPerRequest) / med(name, (r) => r.serverCpuUsPerRequest),
    };
  };
  const rows = order
    .filter((name) => runsOf(name).length > 0)
    .map((name) => {
      const ratio = ratios(name);
      const failures = runsOf(name).reduce(
        (n, r) => n + Object.values(r.errors).reduce((a, b) => a + b, 0) + r.unfinished,
        0,
      );
      const cells = [
        labels[name],
        `**${thousands(med(name, (r) => r.rps))}**`,
        fixed(
          med(name, (r) => r.p50),
          1,
        ),
        fixed(
          med(name, (r) => r.p99),
          1,
        ),
        ratio ? `**${ratio.rps.toFixed(2)}×**` : "baseline",
        fixed(
          med(name, (r) => r.serverCpuUsPerRequest),
          0,
        ),
        ratio ? `${ratio.cpu.toFixed(2)}×` : "baseline",
        `${fixed(
          med(name, (r) => r.serverCpu),
          0,
        )} %`,
        `${fixed(
          med(name, (r) => r.loaderCpu),
          0,
        )} %`,
        `${fixed(
          med(name, (r) => r.otherCpu),
          0,
        )} %`,
        fixed(
          med(name, (r) => r.rssIdleMb),
          0,
        ),
        fixed(
          med(name, (r) => r.rssPeakMb),
          0,
        ),
        fixed(
          med(name, (r) => r.replyBytes),
          0,
        ),
        String(failures),
        runsOf(name)
          .map((r) => thousands(r.rps))
          .join(" / "),
      ];
      return `| ${cells.join(" | ")} |`;
    });
  const table = [
    "| target | req/s | p50 ms | p99 ms | vs bare (req/s) | server CPU µs/req | vs bare (CPU/req) | server CPU | load-gen CPU | other processes' CPU | RSS idle MiB | RSS peak MiB | reply bytes | errors | req/s per round |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ...rows,
  ];
  const notes: string[] = [];
  const missedBy = (value: number, target: number) =>
    value >= target ? "met" : `missed by ${(((target - value) / target) * 100).toFixed(0)} %`;
  if (runsOf("plinth-apply").length > 0) {
    const ratio = ratios("plinth-apply")!;
    const p99 = med("plinth-apply", (r) => r.p99);
    notes.push(
      `- **Apply**: ${ratio.rps.toFixed(2)}× the bare handler's req/s (target ≥ 0.50×: ${missedBy(ratio.rps, 0.5)}); ` +
        `${ratio.cpu.toFixed(2)}× by CPU per request; p99 ${p99.toFixed(1)} ms (target ≤ 25 ms: ${p99 <= 25 ? "met" : `missed by ${(p99 - 25).toFixed(1)} ms`}).`,
    );
    notes.push(
      `- Worker (on, production defaults) during the Apply runs: applied ${thousands(med("plinth-apply", (r) => r.applied))} of ${thousands(med("plinth-apply", (r) => r.submitted))} submitted changes (median); the rest were still queued when the load stopped.`,
    );
  }
  if (runsOf("plinth-get").length > 0) {
    const ratio = ratios("plinth-get")!;
    notes.push(
      `- **Get**: ${ratio.rps.toFixed(2)}× the bare handler's req/s (target ≥ 0.80×: ${missedBy(ratio.rps, 0.8)}); ${ratio.cpu.toFixed(2)}× by CPU per request.`,
    );
    notes.push(
      `- Worker pace with the no-op engine and no requests coming in (draining the ${options.getResources} changes seeded for the Get runs): ${thousands(med("plinth-get", (r) => r.drainRate))} changes/s.`,
    );
  }
  for (const rpc of ["apply", "get"] as const) {
    // Paired: each round's ratio of the working tree's core to the compared commit's, then the median of those.
    const pairs = rounds.filter((r) => r[`plinth-${rpc}`] && r[`ref-plinth-${rpc}`]);
    if (pairs.length === 0) continue;
    const paired = (pick: (run: Run) => number) =>
      median(pairs.map((r) => pick(r[`plinth-${rpc}`]!) / pick(r[`ref-plinth-${rpc}`]!))).toFixed(2);
    notes.push(
      `- **Paired, ${rpc === "apply" ? "Apply" : "Get"}, this tree ÷ ${options.compareRef}** (median of ${pairs.length} per-round ratios): ` +
        `req/s ${paired((r) => r.rps)}×, p50 ${paired((r) => r.p50)}×, p99 ${paired((r) => r.p99)}×, server CPU per request ${paired((r) => r.serverCpuUsPerRequest)}×.`,
    );
  }
  for (const [rpc, staticName, jwtName] of [
    ["Apply", "plinth-apply", "plinth-apply-jwt"],
    ["Get", "plinth-get", "plinth-get-jwt"],
  ] as const) {
    // Ratios of the two runs of one round (measured back to back, in alternating order), then their median.
    const pairs = rounds.filter((r) => r[staticName] && r[jwtName]).map((r) => [r[staticName]!, r[jwtName]!] as const);
    if (pairs.length === 0) continue;
    const pairMedian = (pick: (s: Run, j: Run) => number) => median(pairs.map(([s, j]) => pick(s, j)));
    notes.push(
      `- **${rpc}, JWT ÷ static token** (median of ${pairs.length} paired rounds): req/s ${pairMedian((s, j) => j.rps / s.rps).toFixed(2)}×, ` +
        `server CPU per request ${pairMedian((s, j) => j.serverCpuUsPerRequest / s.serverCpuUsPerRequest).toFixed(2)}×, ` +
        `p50 ${pairMedian((s, j) => j.p50 / s.p50).toFixed(2)}×, p99 ${pairMedian((s, j) => j.p99 / s.p99).toFixed(2)}×.`,
    );
  }
  const machine = `${availableParallelism()} CPUs (${cpus()[0]?.model ?? "unknown CPU"}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}, Node ${process.version}`;
  let commit = "unknown";
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: repoRoot }).toString().trim();
    const dirty = git("status", "--porcelain", "--", ".", ":!bench", ":!BENCHMARKS.md") !== "";
    commit = `${git("rev-parse", "--short", "HEAD")}${dirty ? " plus uncommitted changes" : ""}`;
  } catch {
    // Not a git checkout.
  }
  const command = ["bench/run.sh", ...process.argv.slice(2)].join(" ");
  if (codeChanged) {
    notes.push(
      "- **Warning**: files under `packages/<name>/src` changed during this run; rounds may have measured different code.",
    );
  }
  const whatIfNote = options.whatIf
    ? [
        "",
        `**What-if run**: the Plinth server was patched with \`${options.whatIf}\` (bench/what-if.ts); these numbers estimate a suggested change, they are not Plinth as committed.`,
      ]
    : [];
  return [
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${machine}; commit ${commit}.`,
    "",
    `Command: \`${command}\` (${options.rounds} rounds, ${options.concurrency} concurrent clients, ${options.client} client, ${options.warmupMs / 1000} s warm-up + ${options.durationMs / 1000} s measured per target, medians of the rounds; ${Math.round(seconds)} s in all).`,
    ...whatIfNote,
    "",
    ...table,
    "",
    ...notes,
  ].join("\n");
}

function writeBenchmarks(section: string): void {
  const file = join(repoRoot, "BENCHMARKS.md");
  const begin = "<!-- bench:results:begin -->";
  const end = "<!-- bench:results:end -->";
  const text = readFileSync(file, "utf8");
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`BENCHMARKS.md has no ${begin} … ${end} section to replace`);
  writeFileSync(file, `${text.slice(0, from + begin.length)}\n\n${section}\n\n${text.slice(to)}`);
  try {
    // `make lint` checks Markdown with Prettier: align the new table the way it wants.
    execFileSync("prettier", ["--write", "--log-level=warn", file], { cwd: repoRoot, stdio: "inherit" });
  } catch {
    log("could not run prettier on BENCHMARKS.md; run `prettier --write BENCHMARKS.md`");
  }
  log("BENCHMARKS.md updated");
}

// ---- main ------------------------------------------------------------------

/** Newest modification time under packages/<name>/src: other people may be editing core while this runs. */
function sourceStamp(): number {
  let newest = 0;
  const packages = join(repoRoot, "packages");
  for (const pkg of readdirSync(packages)) {
    const src = join(packages, pkg, "src");
    if (!existsSync(src)) continue;
    for (const file of readdirSync(src, { recursive: true, encoding: "utf8" })) {
      newest = Math.max(newest, statSync(join(src, file)).mtimeMs);
    }
  }
  return newest;
}
const stampAtStart = sourceStamp();

const startedAt = performance.now();
const rounds: Partial<Record<TargetName, Run>>[] = [];
if (options.jwt) {
  idp = await startDevIdp({ users: { users: [], services: [benchJwtService] }, accessTokenTtlSeconds: 3600 });
  jwt = await idp.clientCredentials(benchJwtService.clientId, benchJwtService.secret);
}
try {
  for (let round = 1; round <= options.rounds; round++) {
    const results: Partial<Record<TargetName, Run>> = {};
    log(`round ${round}/${options.rounds}: bare handler`);
    Object.assign(results, await runBare(round));
    // With --compare-ref the two cores take turns going first, so neither always meets the same neighbours.
    const cores: [string, string | undefined][] = refCore
      ? round % 2
        ? [
            ["plinth", undefined],
            ["ref-plinth", refCore],
          ]
        : [
            ["ref-plinth", refCore],
            ["plinth", undefined],
          ]
      : [["plinth", undefined]];
    for (const [prefix, core] of cores) {
      if (options.only !== "get") {
        log(`round ${round}/${options.rounds}: ${labels[`${prefix}-apply` as TargetName]}`);
        results[`${prefix}-apply` as TargetName] = await runPlinthApply(round, true, core);
      }
      if (options.only !== "apply") {
        log(`round ${round}/${options.rounds}: ${labels[`${prefix}-get` as TargetName]}`);
        results[`${prefix}-get` as TargetName] = await runPlinthGet(round, core);
      }
    }
    if (options.jwt) {
      // With --jwt the JWT targets run right after the static ones, on the same core.
      if (options.only !== "get") results["plinth-apply-jwt"] = await runPlinthApply(round, true, undefined, "jwt");
      if (options.only !== "apply") results["plinth-get-jwt"] = await runPlinthGet(round, undefined, "jwt");
    }
    if (options.workerOff) {
      log(`round ${round}/${options.rounds}: Plinth ApplyResource, worker off`);
      results["plinth-apply-no-worker"] = await runPlinthApply(round, false);
    }
    for (const [name, run] of Object.entries(results)) {
      log(
        `  ${name.padEnd(24)} ${thousands(run.rps).padStart(7)} req/s (${run.completed} calls)  p50 ${fixed(run.p50, 2)} ms  p99 ${fixed(run.p99, 2)} ms  server CPU ${fixed(run.serverCpu, 0)} % (${fixed(run.serverCpuUsPerRequest, 0)} µs/req)  loader CPU ${fixed(run.loaderCpu, 0)} %  others ${fixed(run.otherCpu, 0)} %  RSS ${fixed(run.rssIdleMb, 0)}→${fixed(run.rssPeakMb, 0)} MiB${run.submitted === undefined ? "" : `  applied ${run.applied}/${run.submitted}`}${run.drainRate === undefined ? "" : `  worker drained ${fixed(run.drainRate, 0)} changes/s`}${Object.keys(run.errors).length ? `  errors ${JSON.stringify(run.errors)}` : ""}`,
      );
    }
    rounds.push(results);
  }
} finally {
  loader.disconnect();
  await idp?.stop();
  rmSync(dataRoot, { recursive: true, force: true });
  if (refCore) rmSync(join(repoRoot, "packages/core/.bench-ref"), { recursive: true, force: true });
}
const codeChanged = sourceStamp() !== stampAtStart;
if (codeChanged) log("warning: files under packages/<name>/src changed during the run");
const section = summarize(rounds, (performance.now() - startedAt) / 1000, codeChanged);
process.stdout.write(`${section}\n`);
if (options.write) writeBenchmarks(section);
