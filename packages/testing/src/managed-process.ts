import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ManagedProcessOptions {
  /** Short name for messages and file names, e.g. "kafka". */
  name: string;
  command: string;
  args: string[];
  /** Working and scratch directory; the log and pid file go here. */
  dir: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this uid/gid (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
  /** Signal that asks for a clean shutdown; SIGTERM by default. */
  stopSignal?: NodeJS.Signals;
}

/** A long-running child process whose output goes to a log file in its directory. */
export interface ManagedProcess {
  readonly pid: number;
  readonly logFile: string;
  /** Set once the process has exited. */
  exitStatus(): string | undefined;
  /** The last lines of the log, for error messages. */
  logTail(lines?: number): string;
  /** The stop signal, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL and wait: what a crash looks like. */
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Nothing a fixture started may outlive the test process, even when a test forgets to stop it. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

export function startManagedProcess(options: ManagedProcessOptions): ManagedProcess {
  installExitHook();
  const logFile = join(options.dir, `${options.name}.log`);
  const fd = openSync(logFile, "a");
  const child = spawn(options.command, options.args, {
    cwd: options.dir,
    env: options.env ?? process.env,
    stdio: ["ignore", fd, fd],
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${options.name}: could not start ${options.command}`);
  live.add(child);
  // The global teardown kills whatever a crashed test worker left behind.
  writeFileSync(join(options.dir, `${options.name}.pid`), String(child.pid));

  let status: string | undefined;
  const exited = new Promise<void>((resolveExit) => {
    child.once("exit", (code, signal) => {
      status = signal ? `killed by ${signal}` : `exited with code ${code}`;
      live.delete(child);
      resolveExit();
    });
    child.once("error", (error) => {
      status = `failed to start: ${error.message}`;
      live.delete(child);
      resolveExit();
    });
  });

  const logTail = (lines = 30): string => {
    try {
      return readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  };

  const stop = async (graceMs = 15_000): Promise<void> => {
    if (status !== undefined) return;
    child.kill(options.stopSignal ?? "SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  };

  return {
    pid: child.pid,
    logFile,
    exitStatus: () => status,
    logTail,
    stop,
    kill: async () => {
      if (status !== undefined) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}
