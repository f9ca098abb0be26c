// CPU seconds and memory of a process and its live descendants, and of the whole machine, from /proc
// (Linux), for benchmarks that report CPU beside wall time on a shared machine.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

export const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

export interface ProcInfo {
  pid: number;
  ppid: number;
  rssMb: number;
  /** utime + stime + cutime + cstime: its own CPU and that of the children it has reaped. */
  cpuSeconds: number;
}

/** Every process now, by pid. */
export function processes(): Map<number, ProcInfo> {
  const found = new Map<number, ProcInfo>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const pages = Number(fields[21]);
      found.set(Number(entry), {
        pid: Number(entry),
        ppid: Number(fields[1]),
        rssMb: (pages * 4096) / 2 ** 20,
        cpuSeconds: (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / clockTicks,
      });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** The root and every live descendant. */
export function tree(root: number, all = processes()): ProcInfo[] {
  const found: ProcInfo[] = [];
  const visit = (pid: number): void => {
    const info = all.get(pid);
    if (info) found.push(info);
    for (const child of all.values()) if (child.ppid === pid) visit(child.pid);
  };
  visit(root);
  return found;
}

/** CPU seconds `root` and its live descendants have used (with what they reaped). */
export function treeCpuSeconds(root: number): number {
  return tree(root).reduce((sum, p) => sum + p.cpuSeconds, 0);
}

/** Busy CPU seconds of the whole machine so far (all cores; idle and iowait excluded): what other processes took shows beside the server's. */
export function machineBusySeconds(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - fields[3]! - fields[4]!) / clockTicks;
}
