// One topic from ApplyResource to SUCCEEDED through the real Plinth server,
// beside a bare Automation API `up` of the same program (a fresh Node process
// per run), on one real broker, in one run. See bench/README.md.
//   bench/apply-latency.sh [--runs 5] [--config '{"engine":{...}}']
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { ChangeService } from "@plinth/sdk/gen/plinth/v1/change_service_pb.ts";
import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { ResourceService } from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";
import { pulumiEnv, startKafka } from "../packages/testing/src/index.ts";
import { benchPrincipal } from "./common.ts";
import { clockTicks, machineBusySeconds, processes, tree, treeCpuSeconds } from "./proc-tree.ts";
import { Code, ConnectError, createClient, createConnectTransport } from "./deps.ts";

const { values: options } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    config: { type: "string" },
    burst: { type: "string", default: "0" },
  },
});
const runs = Number(options.runs);
const burstSize = Number(options.burst);
// Latency runs measure applies alone; a burst runs beside the reconciler at its default interval, as in production.
const serverConfig = options.config ?? (burstSize > 0 ? "{}" : '{"reconcile":{"intervalMs":0}}');
const benchDir = import.meta.dirname;
const repoRoot = join(benchDir, "..");
const log = (line: string) => process.stderr.write(`${line}\n`);
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

interface Marks {
  start: number;
  marks: Array<[string, number]>;
  /** CPU seconds of the bare process and the CLI and provider it waited for. */
  cpuSeconds?: number;
}

/**
 * Samples the server's tree every 100 ms: peak RSS of the whole tree, and of
 * the largest single engine child with what it started (CLI, provider).
 */
function sampleTree(root: number) {
  let peakTotal = 0;
  let peakChild = 0;
  const timer = setInterval(() => {
    const all = processes();
    const members = tree(root, all);
    peakTotal = Math.max(
      peakTotal,
      members.reduce((sum, p) => sum + p.rssMb, 0),
    );
    for (const child of members.filter((p) => p.ppid === root)) {
      peakChild = Math.max(
        peakChild,
        tree(child.pid, all).reduce((sum, p) => sum + p.rssMb, 0),
      );
    }
  }, 100);
  return {
    stop: () => {
      clearInterval(timer);
      return { peakTotalMb: peakTotal, peakChildMb: peakChild };
    },
  };
}

/** CPU seconds the server's tree has used so far (live processes, and what they reaped). */

/** An engine log line of the server: `<operation> finished` with its phases. */
interface EngineLog {
  time: number;
  msg: string;
  stack?: string;
  ms?: number;
  phases?: Record<string, number>;
}

const env = { ...process.env, ...pulumiEnv() };
// On the repository's disk (like bench/.plinth), ignored by git, removed at the end.
mkdirSync(join(benchDir, ".plinth"), { recursive: true });
const scratch = mkdtempSync(join(benchDir, ".plinth", "latency-"));

async function startServer(bootstrapServers: string, engineLogs: EngineLog[]) {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(benchDir, "plinth-kafka-server.ts"),
      join(scratch, "plinth"),
      bootstrapServers,
      serverConfig,
    ],
    { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], env },
  );
  createInterface({ input: child.stderr! }).on("line", (line) => {
    try {
      const entry = JSON.parse(line) as EngineLog;
      if (entry.msg?.endsWith(" finished")) engineLogs.push(entry);
    } catch {
      process.stderr.write(`[server] ${line}\n`);
    }
  });
  const ready = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the server exited with ${code} before serving`)));
    createInterface({ input: child.stdout! }).once("line", (line) => resolve(JSON.parse(line)));
  });
  return { ...ready, process: child };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

function bareUp(bootstrapServers: string, topic: string, spec: unknown): Promise<{ wallMs: number; marks: Marks }> {
  const spawned = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(benchDir, "bare-up.ts"), bootstrapServers, topic, JSON.stringify(spec), join(scratch, "bare-state")],
      { cwd: scratch, stdio: ["ignore", "pipe", "inherit"], env: { ...env, BENCH_CLK_TCK: String(clockTicks) } },
    );
    let output = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`bare up exited with ${code}`));
      const marks = JSON.parse(output.trim().split("\n").at(-1)!) as Marks;
      // Spawn to `up` resolved; the process's own exit is not counted.
      resolve({ wallMs: marks.marks.at(-1)![1] - spawned, marks: { ...marks, start: spawned } });
    });
  });
}

/** Milliseconds of each phase: each mark minus the one before it. */
function phases(start: number, marks: Array<[string, number]>): Array<[string, number]> {
  let previous = start;
  return marks.map(([phase, at]) => {
    const ms = at - previous;
    previous = at;
    return [phase, ms];
  });
}

const broker = await startKafka();
const engineLogs: EngineLog[] = [];
const server = await startServer(broker.bootstrapServers, engineLogs);
const transport = createConnectTransport({
  baseUrl: server.url,
  httpVersion: "1.1",
  interceptors: [
    (next) => async (req) => {
      req.header.set("authorization", `Bearer ${benchPrincipal.token}`);
      return await next(req);
    },
  ],
});
const client = createClient(ResourceService, transport);
/** ApplyResource, sent again while the server says the target did not answer its submit-time check (a loaded broker). */
const resources = {
  async applyResource(request: Parameters<typeof client.applyResource>[0]) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await client.applyResource(request);
      } catch (error) {
        if (!(error instanceof ConnectError) || error.code !== Code.Unavailable || attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  },
};
const changes = createClient(ChangeService, transport);

async function plinthApply(name: string) {
  const cpuBefore = treeCpuSeconds(server.pid);
  const sampler = sampleTree(server.pid);
  const t0 = Date.now();
  const reply = await resources.applyResource({
    type: "kafka.topic",
    name,
    spec: { cluster: "local", owner: { team: "payments", contact: "#payments" }, partitions: 3 } as never,
    requestId: `latency-${name}`,
  });
  const acknowledged = Date.now();
  const id = reply.change!.id;
  let seen = 0;
  for await (const update of changes.watchChange({ id })) {
    if (update.change?.status === ChangeStatus.SUCCEEDED) seen = Date.now();
    else if (update.change?.status === ChangeStatus.FAILED)
      throw new Error(`${name} failed: ${update.change.lastError}`);
  }
  const memory = sampler.stop();
  const cpuSeconds = treeCpuSeconds(server.pid) - cpuBefore;
  const { change, events, queuedForSlotMs } = await changes.getChange({ id });
  const at = (predicate: (e: (typeof events)[number]) => boolean) => {
    const event = events.find(predicate);
    return event?.time ? Number(event.time.seconds) * 1000 + Math.floor(event.time.nanos / 1e6) : Number.NaN;
  };
  const engine = engineLogs.find((entry) => entry.stack === `kafka.topic--${name}` && entry.msg === "apply finished");
  const claimed = at((e) => e.status === ChangeStatus.APPLYING);
  const verified = at((e) => e.kind === "verify");
  const succeeded = at((e) => e.status === ChangeStatus.SUCCEEDED);
  const engineEnd = engine?.time ?? Number.NaN;
  const engineStart = engineEnd - (engine?.ms ?? Number.NaN);
  const breakdown: Array<[string, number]> = [
    ["submit (ApplyResource reply)", acknowledged - t0],
    ["queue: reply to claim (APPLYING)", claimed - acknowledged],
    ["worker before the engine (revalidate, slot)", engineStart - claimed],
    ...Object.entries(engine?.phases ?? {}).map(([phase, ms]): [string, number] => [`engine: ${phase}`, ms]),
    ["verify (engine done to verified)", verified - engineEnd],
    ["record the revision (verified to SUCCEEDED)", succeeded - verified],
    ["notify the watcher", seen - succeeded],
  ];
  return {
    totalMs: seen - t0,
    breakdown,
    resolvedSpec: change!.resolvedSpec,
    cpuSeconds,
    ...memory,
    queuedForSlotMs: Number(queuedForSlotMs),
    warm: (engine as { warm?: boolean } | undefined)?.warm,
  };
}

/** `count` topics submitted at once, polled until every one is final. */
async function burst(count: number) {
  const loadBefore = loadavg()[0]!;
  const machineBefore = machineBusySeconds();
  const cpuBefore = treeCpuSeconds(server.pid);
  const sampler = sampleTree(server.pid);
  const t0 = Date.now();
  const submitted = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      resources.applyResource({
        type: "kafka.topic",
        name: `burst.t${i}`,
        spec: { cluster: "local", owner: { team: "payments", contact: "#payments" }, partitions: 3 } as never,
        requestId: `burst-${i}`,
      }),
    ),
  );
  const acknowledgedMs = Date.now() - t0;
  const pending = new Set(submitted.map((reply) => reply.change!.id));
  const waits: number[] = [];
  const attempts: number[] = [];
  let failed = 0;
  while (pending.size > 0) {
    for (const id of [...pending]) {
      const { change, queuedForSlotMs } = await changes.getChange({ id });
      if (change?.status === ChangeStatus.SUCCEEDED || change?.status === ChangeStatus.FAILED) {
        pending.delete(id);
        if (change.status === ChangeStatus.FAILED) failed++;
        waits.push(Number(queuedForSlotMs));
        attempts.push(change.attempts);
      }
    }
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  const totalMs = Date.now() - t0;
  const memory = sampler.stop();
  const cpuSeconds = treeCpuSeconds(server.pid) - cpuBefore;
  const machineSeconds = machineBusySeconds() - machineBefore;
  const load = [loadBefore, loadavg()[0]!];
  return { totalMs, acknowledgedMs, cpuSeconds, machineSeconds, load, ...memory, waits, attempts, failed };
}

if (burstSize > 0) {
  log(`apply-latency: broker ${broker.bootstrapServers}, Plinth ${server.url}, a burst of ${burstSize}`);
  let result: Awaited<ReturnType<typeof burst>>;
  try {
    await plinthApply("burst.warmup");
    result = await burst(burstSize);
  } finally {
    await stop(server.process);
    await broker.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
  const sorted = [...result.waits].sort((a, b) => a - b);
  process.stdout.write(
    [
      `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${availableParallelism()} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM; server config ${serverConfig}.`,
      "",
      `${burstSize} topics submitted at once: all final after **${(result.totalMs / 1000).toFixed(1)} s** (target ≤ 120 s); ${result.failed} failed; accepted in ${result.acknowledgedMs} ms; attempts ${Math.min(...result.attempts)}–${Math.max(...result.attempts)}.`,
      `CPU: ${result.cpuSeconds.toFixed(1)} s for the server's tree, **${(result.cpuSeconds / burstSize).toFixed(2)} CPU s per apply**. Peak RSS: server and children **${Math.round(result.peakTotalMb)} MiB**, largest engine child with its CLI and provider ${Math.round(result.peakChildMb)} MiB.`,
      `Machine: ${result.machineSeconds.toFixed(0)} busy CPU s of ${((availableParallelism() * result.totalMs) / 1000).toFixed(0)} available during the burst, ${(result.machineSeconds - result.cpuSeconds).toFixed(0)} of them outside the server's tree (the broker, the driver, other users); 1-minute load average ${result.load.map((value) => value.toFixed(1)).join(" at the start, ")} at the end.`,
      `Queued for a slot (GetChange queued_for_slot_ms): p50 ${(median(sorted) / 1000).toFixed(1)} s, max ${((sorted.at(-1) ?? 0) / 1000).toFixed(1)} s.`,
      "",
    ].join("\n"),
  );
  process.exit(0);
}

log(`apply-latency: broker ${broker.bootstrapServers}, Plinth ${server.url}, ${runs} runs each`);
const loadAtStart = loadavg()[0]!;
const plinthRuns: Array<Awaited<ReturnType<typeof plinthApply>>> = [];
const bareRuns: Array<Awaited<ReturnType<typeof bareUp>>> = [];
try {
  // Warm-up, not counted: the server's first apply, and the page cache for the bare process.
  const warm = await plinthApply("latency.warmup");
  await bareUp(broker.bootstrapServers, "bare.warmup", warm.resolvedSpec);
  for (let i = 1; i <= runs; i++) {
    const plinth = await plinthApply(`latency.p${i}`);
    plinthRuns.push(plinth);
    const bare = await bareUp(broker.bootstrapServers, `bare.p${i}`, plinth.resolvedSpec);
    bareRuns.push(bare);
    log(`run ${i}: Plinth ${plinth.totalMs} ms, bare up ${bare.wallMs} ms`);
  }
} finally {
  await stop(server.process);
  await broker.stop();
  rmSync(scratch, { recursive: true, force: true });
}

const plinthP50 = median(plinthRuns.map((r) => r.totalMs));
const bareP50 = median(bareRuns.map((r) => r.wallMs));
const out: string[] = [];
out.push(
  `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${availableParallelism()} CPUs (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}; server config ${serverConfig}; 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end.`,
  "",
  "| target | p50 ms | runs ms |",
  "| --- | ---: | --- |",
  `| Plinth: ApplyResource to SUCCEEDED (watched) | **${plinthP50}** | ${plinthRuns.map((r) => r.totalMs).join(" / ")} |`,
  `| bare Automation API \`up\`, fresh Node process | **${bareP50}** | ${bareRuns.map((r) => r.wallMs).join(" / ")} |`,
  "",
  `Ratio Plinth / bare (p50): **${(plinthP50 / bareP50).toFixed(2)}×** (target ≤ 1.3×).`,
  "",
  `Cost of one apply (medians): Plinth's server tree ${median(plinthRuns.map((r) => r.cpuSeconds)).toFixed(1)} CPU s (server, engine child, Pulumi CLI, provider), the bare process ${median(bareRuns.map((r) => r.marks.cpuSeconds ?? Number.NaN)).toFixed(1)} CPU s (Node, CLI, provider). Peak RSS during an apply: one engine child with its CLI and provider ${Math.round(median(plinthRuns.map((r) => r.peakChildMb)))} MiB; the whole server tree ${Math.round(median(plinthRuns.map((r) => r.peakTotalMb)))} MiB. Warm child: ${plinthRuns.map((r) => (r.warm ? "yes" : "no")).join(" / ")}. GetChange queued_for_slot_ms: ${plinthRuns.map((r) => r.queuedForSlotMs).join(" / ")}.`,
  "",
  "Plinth, where the time goes (median ms of each phase over the runs; engine phases end at the named mark):",
  "",
  "| phase | ms | share |",
  "| --- | ---: | ---: |",
);
const phaseNames = [...new Set(plinthRuns.flatMap((r) => r.breakdown.map(([name]) => name)))];
for (const name of phaseNames) {
  const ms = median(plinthRuns.map((r) => r.breakdown.find(([n]) => n === name)?.[1] ?? 0));
  out.push(`| ${name} | ${Math.round(ms)} | ${Math.round((100 * ms) / plinthP50)} % |`);
}
out.push(
  "",
  "Bare `up`, where the time goes (median ms; from the spawn):",
  "",
  "| phase | ms | share |",
  "| --- | ---: | ---: |",
);
const bareNames = bareRuns[0]!.marks.marks.map(([name]) => name);
for (const name of bareNames) {
  const ms = median(bareRuns.map((r) => phases(r.marks.start, r.marks.marks).find(([n]) => n === name)?.[1] ?? 0));
  out.push(`| ${name} | ${Math.round(ms)} | ${Math.round((100 * ms) / bareP50)} % |`);
}
process.stdout.write(`${out.join("\n")}\n`);
