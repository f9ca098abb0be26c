import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Vitest global setup: one scratch directory per test run for every fixture,
 * and a teardown that kills any process a crashed test left running in it
 * and removes it, so a run leaves nothing behind.
 */
export function setup(): () => void {
  const root = join(tmpdir(), "plinth-tests");
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o755);
  const runDir = mkdtempSync(join(root, "run-"));
  chmodSync(runDir, 0o755);
  process.env.PLINTH_TEST_TMP = runDir;
  return () => {
    killLeftovers(runDir);
    rmSync(runDir, { recursive: true, force: true });
  };
}

function killLeftovers(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    if (!entry.endsWith(".pid")) continue;
    const pid = Number(readFileSync(join(dir, entry), "utf8"));
    // Only a process still started from this directory: pids get reused.
    const cmdline = processCommandLine(pid);
    if (!cmdline?.includes(dir)) continue;
    try {
      execFileSync("kill", ["-9", String(pid)]);
    } catch {
      // Already gone.
    }
  }
}

function processCommandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return undefined;
  }
}
