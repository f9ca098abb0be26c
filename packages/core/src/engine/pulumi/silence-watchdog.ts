// The engine child's watch for a silent server, on a worker thread of its own: a plugin's program runs on the
// child's main thread, and one that blocks it (a long synchronous step) must not keep a paused server's Pulumi CLI
// running. The server's heartbeats come on a pipe of their own, which this thread reads; were they read on the main
// thread, a blocked main thread would look like a silent server.
import { readFileSync, readdirSync } from "node:fs";
import { Socket } from "node:net";
import { extname } from "node:path";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { reapStrays } from "./reap-strays.ts";

/** The child's file descriptor on which the server writes a byte per heartbeat (stdio entry 4 of the fork). */
export const heartbeatFd = 4;

// Slots of the shared state (BigInt64Array).
/** When the server was last heard from (ms since the epoch). */
const heard = 0;
/** The silence after which the operation in hand stops (ms); 0 while no operation is in hand. */
const silence = 1;
/** How long the CLI may take to stop once interrupted before it is killed (ms). */
const grace = 2;
/** 0: listening; 1: silence noticed, the main thread told; 2: the main thread stops the operation; 3: this thread did. */
const noticed = 3;
const slots = 4;

/** How long the main thread has to take the silence up before this thread interrupts the CLI itself. */
const mainThreadAnswerMs = 250;

interface WatchdogData {
  role: "silence-watchdog";
  state: SharedArrayBuffer;
  marker: string;
}

export interface SilenceWatchdog {
  /** An operation starts: stop it once the server has been silent for `silenceMs`, killing after `graceMs`. */
  begin(silenceMs: number, graceMs: number): void;
  /** The operation in hand ended: a silence no longer matters. */
  end(): void;
  /** The server was heard from on the IPC channel (a run, an answer). */
  heard(): void;
}

/**
 * Starts the watchdog thread. `onSilent` runs on the main thread once the
 * server has been silent for longer than the operation's silence, if the main
 * thread gets to it: `cliInterrupted` says whether the watchdog already
 * interrupted the CLI (the main thread was blocked), so that it is not
 * interrupted twice (a second SIGINT makes the CLI quit without unlocking).
 * Either way, once the grace is over, the watchdog kills the CLI, its
 * providers and this process, however busy the main thread still is.
 */
export function startSilenceWatchdog(
  marker: string,
  onSilent: (quietMs: number, cliInterrupted: boolean) => void,
): SilenceWatchdog {
  const buffer = new SharedArrayBuffer(slots * BigInt64Array.BYTES_PER_ELEMENT);
  const state = new BigInt64Array(buffer);
  Atomics.store(state, heard, BigInt(Date.now()));
  const worker = new Worker(new URL(`./silence-watchdog${extname(import.meta.url)}`, import.meta.url), {
    workerData: { role: "silence-watchdog", state: buffer, marker } satisfies WatchdogData,
  });
  worker.unref();
  worker.on("message", (quietMs: number) => {
    const taken = Atomics.compareExchange(state, noticed, 1n, 2n) === 1n;
    onSilent(quietMs, !taken);
  });
  // Without its watchdog the child still stops on its server's death (the IPC channel): say so, do not crash.
  worker.on("error", (error) => process.stderr.write(`the engine child's silence watchdog failed: ${error.message}\n`));
  return {
    begin(silenceMs, graceMs) {
      Atomics.store(state, grace, BigInt(graceMs));
      Atomics.store(state, heard, BigInt(Date.now()));
      Atomics.store(state, silence, BigInt(Math.max(1, silenceMs)));
    },
    end() {
      Atomics.store(state, silence, 0n);
    },
    heard() {
      Atomics.store(state, heard, BigInt(Date.now()));
    },
  };
}

/** The processes this one started itself (the Pulumi CLI) that carry `marker`: Linux /proc. */
function ownChildren(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 1) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== process.pid) continue;
      if (readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(marker)) found.push(pid);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

function watch({ state, marker }: WatchdogData): void {
  const shared = new BigInt64Array(state);
  const beats = new Socket({ fd: heartbeatFd, readable: true, writable: false });
  beats.on("data", () => Atomics.store(shared, heard, BigInt(Date.now())));
  // The server is gone (its end of the pipe closed): a silence from now on; the IPC channel says so as well.
  beats.on("error", () => undefined);
  beats.on("close", () => Atomics.store(shared, heard, 0n));
  beats.unref();

  const quietFor = (): number => {
    const allowed = Number(Atomics.load(shared, silence));
    const quiet = Date.now() - Number(Atomics.load(shared, heard));
    return allowed > 0 && quiet > allowed ? quiet : 0;
  };
  const stopUnheard = (quietMs: number): void => {
    if (Atomics.compareExchange(shared, noticed, 0n, 1n) !== 0n) return;
    const graceMs = Number(Atomics.load(shared, grace));
    parentPort!.postMessage(quietMs);
    setTimeout(() => {
      // The main thread did not take it up in time (blocked): the CLI is interrupted from here, as the SDK would.
      if (Atomics.compareExchange(shared, noticed, 1n, 3n) !== 1n) return;
      for (const pid of ownChildren(marker)) {
        try {
          process.kill(pid, "SIGINT");
        } catch {
          // Gone already.
        }
      }
    }, mainThreadAnswerMs);
    // The CLI had its grace to unlock the stack; whatever still runs is killed, this process too.
    setTimeout(() => {
      reapStrays(marker);
      process.kill(process.pid, "SIGKILL");
    }, mainThreadAnswerMs + graceMs);
  };
  setInterval(() => {
    // Timers run before pending input is read: after this process itself was starved of CPU, the heartbeats that
    // arrived meanwhile are read first (setImmediate comes after the poll), and only a silence that remains counts.
    if (quietFor() > 0)
      setImmediate(() => {
        const quiet = quietFor();
        if (quiet > 0) stopUnheard(quiet);
      });
  }, 100);
}

if (!isMainThread && (workerData as WatchdogData | undefined)?.role === "silence-watchdog") watch(workerData);
