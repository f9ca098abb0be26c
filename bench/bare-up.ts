// The baseline of bench/apply-latency.ts: the least a service embedding Pulumi
// does to create one topic. A fresh Node process (no tsx: Node strips the
// types itself) runs the Automation API's `up` of an inline program that
// declares the very resources kafka.topic's program declares (the plugin's
// `declareTopic`, imported directly), then prints one JSON line of phase
// times and exits.
//   node bench/bare-up.ts <bootstrapServers> <topic> <resolvedSpecJson> <backendDir>
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type * as automation from "../packages/plugin-kafka/node_modules/@pulumi/pulumi/automation/index.js";

const start = performance.timeOrigin;
const marks: Array<[string, number]> = [["node-started", Date.now()]];
const mark = (phase: string): void => {
  if (!marks.some(([seen]) => seen === phase)) marks.push([phase, Date.now()]);
};

const [bootstrapServers, topic, specJson, backendDir] = process.argv.slice(2);
if (!bootstrapServers || !topic || !specJson || !backendDir) {
  throw new Error("usage: bare-up.ts <bootstrapServers> <topic> <resolvedSpecJson> <backendDir>");
}
const kafkaSrc = join(import.meta.dirname, "../packages/plugin-kafka");
const { LocalWorkspace } = (await import(
  join(kafkaSrc, "node_modules/@pulumi/pulumi/automation/index.js")
)) as typeof automation;
const { declareTopic } = await import("../packages/plugin-kafka/src/topic-resources.ts");
mark("sdk-loaded");

mkdirSync(backendDir, { recursive: true });
const stack = await LocalWorkspace.createOrSelectStack(
  {
    projectName: "bare",
    stackName: topic,
    program: async () => {
      mark("program-started");
      return declareTopic(topic, JSON.parse(specJson), { bootstrapServers: [bootstrapServers], brokers: 1 } as never);
    },
  },
  {
    projectSettings: { name: "bare", runtime: "nodejs", backend: { url: `file://${backendDir}` } },
    envVars: { PULUMI_CONFIG_PASSPHRASE: "bare-passphrase" },
    secretsProvider: "passphrase",
  },
);
mark("stack-selected");
await stack.up({
  color: "never",
  suppressProgress: true,
  onEvent: (event) => {
    if (event.preludeEvent) mark("engine-started");
    else if (event.resourcePreEvent?.metadata.type.startsWith("pulumi:providers:")) mark("provider-step");
    else if (event.resourcePreEvent?.metadata.type === "kafka:index/topic:Topic") mark("create-started");
    else if (event.resOutputsEvent?.metadata.type === "kafka:index/topic:Topic") mark("create-done");
    else if (event.summaryEvent) mark("summary");
  },
});
mark("up-done");
// Its own CPU and that of the CLI and provider it has waited for (utime, stime, cutime, cstime).
const stat = readFileSync("/proc/self/stat", "utf8");
const ticks = stat
  .slice(stat.lastIndexOf(")") + 2)
  .split(" ")
  .slice(11, 15)
  .reduce((sum, field) => sum + Number(field), 0);
const cpuSeconds = ticks / Number(process.env.BENCH_CLK_TCK ?? 100);
process.stdout.write(`${JSON.stringify({ start, marks, cpuSeconds })}\n`);
process.exit(0);
