import { readFileSync, readdirSync } from "node:fs";

/**
 * Kills (SIGKILL) every process whose environment holds the entry `marker`
 * ("NAME=value"), and returns their pids. The engine gives each child a
 * unique marker that the Pulumi CLI and the providers it starts inherit:
 * the CLI puts providers in process groups of their own, so killing the
 * child's group leaves them running once the CLI is gone. Reads /proc, so
 * Linux only; elsewhere it finds nothing. Processes of other users cannot be
 * read and are never touched.
 */
export function reapStrays(marker: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(marker)) continue;
      process.kill(pid, "SIGKILL");
      killed.push(pid);
    } catch {
      // Gone already, or not ours to read.
    }
  }
  return killed;
}
