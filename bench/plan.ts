// `plinth plan` of a folder of --resources kafka.topic manifests on a warm, real Plinth server (its own
// process: durable SQLite, the real Pulumi engine, a real broker), as the CLI asks it: one PlanChangeSet
// call judging every entry and storing the plan. Beside it, in the same run, two baselines:
//   - GetResource x N, one after another: the floor of N round trips through the same server;
//   - PreviewResource x N, 8 at a time: what `plinth plan -f` did before change sets.
// Each is run --runs times after one warm-up; the medians and ratios are printed.
//
//   node --import tsx bench/plan.ts [--resources 500] [--runs 5]
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createInterface } from "node:readline";
import { ChangeSetService } from "@plinth/sdk/gen/plinth/v1/change_set_service_pb.ts";
import { ResourceService } from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";
import { pulumiEnv, startKafka } from "../packages/testing/src/index.ts";
import { benchPrincipal } from "./common.ts";
import { createClient, createConnectTransport } from "./deps.ts";

const { values: args } = parseArgs({
  options: { resources: { type: "string", default: "500" }, runs: { type: "string", default: "5" } },
});
const count = Number(args.resources);
const runs = Number(args.runs);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");

const broker = await startKafka();
let server: ChildProcess | undefined;
try {
  const benchDir = import.meta.dirname;
  mkdirSync(join(benchDir, ".plinth"), { recursive: true });
  const dataDir = mkdtempSync(join(benchDir, ".plinth", "plan-"));
  server = spawn(
    process.execPath,
    ["--import", "tsx", join(benchDir, "plinth-kafka-server.ts"), dataDir, broker.bootstrapServers],
    { cwd: join(benchDir, ".."), stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...pulumiEnv() } },
  );
  server.stderr!.resume();
  const ready = await new Promise<{ url: string }>((resolve, reject) => {
    server!.once("exit", (code) => reject(new Error(`the server exited with ${code} before serving`)));
    createInterface({ input: server!.stdout! }).once("line", (line) => resolve(JSON.parse(line)));
  });
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
  const changeSets = createClient(ChangeSetService, transport);
  const resources = createClient(ResourceService, transport);
  const names = Array.from({ length: count }, (_, i) => `bench.plan.t${String(i).padStart(4, "0")}`);
  const spec = { cluster: "local", partitions: 3, owner: { team: "payments", contact: "#payments" } };
  const entries = names.map((name) => ({
    type: "kafka.topic",
    name,
    labels: { "plinth/source": "bench" },
    spec,
    delete: false,
  }));

  const timed = async (work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    return performance.now() - started;
  };
  const plan = async () => {
    const response = await changeSets.planChangeSet({ entries });
    if (!response.planId || response.changes.length !== count) throw new Error("the plan was refused");
  };
  const gets = async () => {
    for (const name of names) await resources.getResource({ type: "kafka.topic", name }).catch(() => undefined);
  };
  const previews = async () => {
    let next = 0;
    const worker = async () => {
      for (let at = next++; at < count; at = next++) {
        await resources.previewResource({ type: "kafka.topic", name: names[at]!, spec });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  };
  const targets = { PlanChangeSet: plan, "GetResource x N": gets, "PreviewResource x N (8 at a time)": previews };
  const times: Record<string, number[]> = {};
  for (const [label, work] of Object.entries(targets)) {
    await work(); // warm-up
    times[label] = [];
    for (let run = 0; run < runs; run++) times[label].push(await timed(work));
  }
  console.log(`${count} kafka.topic entries, ${runs} runs each after one warm-up (load ${load()}):`);
  const baseline = median(times["GetResource x N"]!);
  for (const [label, values] of Object.entries(times)) {
    const ms = median(values);
    console.log(
      `  ${label.padEnd(36)} median ${(ms / 1000).toFixed(2)} s  (${values.map((v) => (v / 1000).toFixed(2)).join(", ")})` +
        `  ${(ms / baseline).toFixed(2)}x GetResource x N`,
    );
  }
} finally {
  server?.kill("SIGTERM");
  await broker.stop();
}
