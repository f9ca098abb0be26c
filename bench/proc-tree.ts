// CPU seconds of a process and its live descendants, from /proc (Linux), for
// benchmarks that report CPU beside wall time on a shared machine.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** pid -> [ppid, utime + stime + cutime + cstime in seconds] for every process now. */
function processes(): Map<number, [number, number]> {
  const found = new Map<number, [number, number]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      found.set(Number(entry), [Number(fields[1]), ticks / clockTicks]);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** CPU seconds `root` and its live descendants have used (with what they reaped). */
export function treeCpuSeconds(root: number): number {
  const all = processes();
  let total = 0;
  const visit = (pid: number): void => {
    total += all.get(pid)?.[1] ?? 0;
    for (const [child, [ppid]] of all) if (ppid === pid) visit(child);
  };
  visit(root);
  return total;
}
