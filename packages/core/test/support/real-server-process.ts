import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

const serverScript = join(import.meta.dirname, "real-engine-server.ts");
const running: ChildProcess[] = [];

export interface ServerProcess {
  url: string;
  child: ChildProcess;
}

/**
 * Starts real-engine-server.ts (the real Pulumi engine and kafka.topic) as a
 * process of its own, leading its own process group as a service manager
 * would start it, so a kill of the group takes its engine children and
 * Pulumi's processes with it, as a machine crash would, and a kill of its pid
 * alone leaves them running, as the OOM killer would.
 */
export async function startRealServerProcess(args: string[]): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", serverScript, ...args], {
    cwd: join(import.meta.dirname, "../.."),
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  running.push(child);
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on("line", (line) => line.startsWith("READY ") && resolve(line.slice(6)));
    child.once("exit", (code) => reject(new Error(`server exited with ${code} before it was ready`)));
  });
  return { url, child };
}

/** SIGKILL of the server's process group ("group") or of its pid alone ("pid"); resolves once it has exited. */
export function killServer(server: ServerProcess, how: "group" | "pid"): Promise<void> {
  const exited = new Promise<void>((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) resolve();
    else server.child.once("exit", () => resolve());
  });
  process.kill(how === "group" ? -server.child.pid! : server.child.pid!, "SIGKILL");
  return exited;
}

/** For afterEach: kills every server this file started, with its group. */
export function killServerProcesses(): void {
  for (const child of running.splice(0)) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/** Live pids whose parent chain leads to `root`: Linux /proc (a zombie has exited: it only waits to be reaped). */
export function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state !== "Z") parents.set(Number(entry), Number(ppid));
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = [];
  const visit = (pid: number): void => {
    for (const [child, parent] of parents) {
      if (parent === pid && !found.includes(child)) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(root);
  return found;
}

/** The pids of `pids` still running. */
export function alive(pids: number[]): number[] {
  return pids.filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
      return false;
    }
  });
}
