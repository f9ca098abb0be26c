// CPU seconds of a bench run by kind of process, from Linux process
// accounting (every process's CPU, counted when it exits, however short it
// lived). See bench/README.md ("CPU by process").
//   accton /tmp/run.pacct; node --import tsx bench/apply-latency.ts ... & pid=$!; wait; accton off
//   node --import tsx bench/cpu-by-process.ts /tmp/run.pacct $pid [--applies N]
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: { applies: { type: "string" } },
});
const [file, rootArg] = positionals;
if (!file || !rootArg) throw new Error("usage: cpu-by-process.ts <pacct file> <driver pid> [--applies N]");
const root = Number(rootArg);
const applies = options.applies ? Number(options.applies) : undefined;

interface Exited {
  /** The name of the thread that exited last (Node and the JVM name their threads), at most 15 characters. */
  comm: string;
  cpuSeconds: number;
  pid: number;
  ppid: number;
  exitCode: number;
}

// dump-acct (package acct): comm|version|utime|stime|etime|uid|gid|mem|io|pid|ppid|flags|exitcode|tty|btime; times in 1/100 s.
const records: Exited[] = execFileSync("dump-acct", [file], { maxBuffer: 2 ** 28 })
  .toString()
  .split("\n")
  .filter(Boolean)
  .map((line) => {
    const f = line.split("|").map((field) => field.trim());
    return {
      comm: f[0]!,
      cpuSeconds: (Number(f[2]) + Number(f[3])) / 100,
      pid: Number(f[9]),
      ppid: Number(f[10]),
      exitCode: Number(f[12]),
    };
  });
const children = new Map<number, Exited[]>();
for (const record of records) children.set(record.ppid, [...(children.get(record.ppid) ?? []), record]);
const kids = (pid: number): Exited[] => children.get(pid) ?? [];
const isCli = (record: Exited): boolean => record.comm === "pulumi";
const runsCli = (record: Exited): boolean => kids(record.pid).some(isCli);

/** The driver's children that are Plinth servers (their children run the CLI) and bare up processes (they run it). */
const servers = new Set(
  kids(root)
    .filter((child) => kids(child.pid).some((grandchild) => !isCli(grandchild) && runsCli(grandchild)))
    .map((child) => child.pid),
);
const bares = new Set(
  kids(root)
    .filter((child) => runsCli(child))
    .map((child) => child.pid),
);

/** What each process of the driver's tree was, from where it sits and what it started. */
function kind(record: Exited): string {
  const parent = records.find((r) => r.pid === record.ppid);
  if (record.comm === "esbuild") return "esbuild (tsx's transformer)";
  if (record.comm.startsWith("pulumi-resource")) return "provider (pulumi-resource-*)";
  if (record.comm.startsWith("pulumi-language")) return "language host (pulumi-language-*)";
  if (record.comm === "git") return "git (run by the CLI)";
  if (isCli(record)) {
    if (parent && isCli(parent)) return "pulumi started by the CLI";
    const side = bares.has(record.ppid) ? "bare" : "Plinth";
    if (kids(record.pid).some((child) => child.comm.startsWith("pulumi-resource"))) {
      return `${side}: pulumi up/preview/destroy (started a provider)`;
    }
    return record.exitCode === 0
      ? `${side}: other pulumi commands (version, stack init/select/output/history)`
      : `${side}: pulumi commands that failed (stack select of a new stack)`;
  }
  if (servers.has(record.pid)) return "Plinth server (Node)";
  if (bares.has(record.pid)) return "bare up process (Node)";
  if (servers.has(record.ppid)) return runsCli(record) ? "engine child (Node)" : "engine child that ran nothing (Node)";
  if (record.ppid === root) {
    return record.cpuSeconds > 2 ? "broker (JVM) and other driver children" : "short driver children (tools)";
  }
  return "other";
}

const byKind = new Map<string, { count: number; cpuSeconds: number }>();
const visit = (pid: number): void => {
  for (const record of kids(pid)) {
    const name = kind(record);
    const entry = byKind.get(name) ?? { count: 0, cpuSeconds: 0 };
    byKind.set(name, { count: entry.count + 1, cpuSeconds: entry.cpuSeconds + record.cpuSeconds });
    visit(record.pid);
  }
};
visit(root);
const driver = records.find((record) => record.pid === root);
if (driver) byKind.set("the driver (Node)", { count: 1, cpuSeconds: driver.cpuSeconds });

const rows = [...byKind.entries()].sort(([a], [b]) => a.localeCompare(b));
const total = rows.reduce((sum, [, entry]) => sum + entry.cpuSeconds, 0);
const lines = [
  `| process kind | processes | CPU s | mean CPU s each |${applies ? " CPU s per apply |" : ""}`,
  `| --- | ---: | ---: | ---: |${applies ? " ---: |" : ""}`,
  ...rows.map(
    ([name, { count, cpuSeconds }]) =>
      `| ${name} | ${count} | ${cpuSeconds.toFixed(2)} | ${(cpuSeconds / count).toFixed(2)} |${applies ? ` ${(cpuSeconds / applies).toFixed(2)} |` : ""}`,
  ),
  `| total | ${rows.reduce((sum, [, entry]) => sum + entry.count, 0)} | ${total.toFixed(2)} | |${applies ? ` ${(total / applies).toFixed(2)} |` : ""}`,
];
process.stdout.write(`${lines.join("\n")}\n`);
