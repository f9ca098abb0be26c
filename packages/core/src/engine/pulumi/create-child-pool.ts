import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { extname } from "node:path";
import type { Writable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { EngineEvent } from "../engine.ts";
import type {
  ChildMessage,
  ChildResult,
  EngineJob,
  EngineOperation,
  PhaseMarks,
  PulumiFailure,
  ReplicaBeatsAnswer,
  RunMessage,
} from "./child-protocol.ts";
import type { ReplicaBeat } from "../../store/records.ts";
import { reapStrays } from "./reap-strays.ts";
import { heartbeatFd } from "./silence-watchdog.ts";

/** A moment in an engine child's life, for hooks, logs and tests. */
export interface EngineChildEvent {
  /**
   * "started" (forked), "ready" (Node, tsx, the Pulumi SDK and known plugins
   * loaded), "assigned" (an operation was handed to it), "released" (it
   * answered), "exited".
   */
  phase: "started" | "ready" | "assigned" | "released" | "exited";
  /** The child's pid; it leads its own process group, so `process.kill(-pid)` reaches the Pulumi CLI and providers too. */
  pid: number;
  /** At "assigned" and "released": the operation's stack. */
  stackName?: string;
  operation?: EngineOperation;
  /** Milliseconds since the fork: at "ready", the cost of starting Node, tsx and the Pulumi SDK. */
  elapsedMs: number;
}

export interface ChildPoolOptions {
  /** Children kept alive, busy or idle and warm: the engine's concurrency. */
  size: number;
  /** A child is retired after this many operations (and after any failed one). */
  maxOperations: number;
  onChild?: (event: EngineChildEvent) => void;
  /** Something an operator should know, e.g. processes a dead child left behind were killed. */
  onWarning?: (message: string) => void;
  /** Output of a child with no operation in hand (its start, its end). */
  onOutputLine?: (line: string) => void;
  /** Answers a child's question about another host's replicas (see `PulumiEngineOptions.replicaBeats`). */
  replicaBeats?: (host: string) => Promise<ReplicaBeat[]>;
}

export interface RunOptions {
  job: EngineJob;
  onEvent?: (event: EngineEvent) => void;
  /** Output lines of the child (stdout and stderr) while it runs this operation, for debug logs. */
  onOutputLine?: (line: string) => void;
  signal?: AbortSignal;
  timeoutMs: number;
  /** After SIGTERM, how long the child may take to interrupt Pulumi and answer before SIGKILL. */
  killGraceMs: number;
}

export type ChildOutcome = ({ ok: true; result: ChildResult } | { ok: false; failure: PulumiFailure }) & {
  /** When each phase ended, from the hand-out to the answer (see `phaseDurations`). */
  marks: PhaseMarks;
  /** The operation ran in a child that had already started (and loaded Pulumi) before it was needed. */
  warm: boolean;
};

export interface ChildPool {
  /** Runs one operation in a child of its own for the time it runs. Never rejects: every way it can go wrong is a `PulumiFailure`. */
  run(options: RunOptions): Promise<ChildOutcome>;
  /** Plugin modules every new child loads before it is ready. */
  preload(module: string): void;
  /** Retires the idle children and waits until every child has exited (busy ones must be cancelled by the caller). */
  close(): Promise<void>;
}

// engine-child.ts in the checkout, engine-child.js in a packed @plinth/core: the extension of this module.
const childEntry = fileURLToPath(new URL(`./engine-child${extname(import.meta.url)}`, import.meta.url));
/** tsx's loader, resolved from core, so the child works whatever the server's cwd. */
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const stderrTailLines = 20;
const markerName = "PLINTH_ENGINE_RUN";

function killGroup(pid: number, signal: NodeJS.Signals): void {
  // -0 would be our own process group.
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** The pipe to the child's silence watchdog. */
const heartbeats = (proc: ChildProcess): Writable | null => (proc.stdio[heartbeatFd] as Writable | null) ?? null;

/** What a child is doing for the operation in hand; set while one runs. */
interface Assignment {
  onMessage(message: ChildMessage): void;
  onLine(line: string): void;
}

interface Child {
  process: ChildProcess;
  pid: number;
  forkedAt: number;
  /** Resolves true once the child is ready, false if it exited first. */
  ready: Promise<boolean>;
  isReady: boolean;
  readyAt?: number;
  operations: number;
  assignment?: Assignment;
  /** Told to stop (cancel, timeout or retirement): it will exit. */
  retiring: boolean;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited: boolean;
  stderrTail: string[];
}

/**
 * Engine children, kept warm: each is forked ahead of need, loads Node, tsx,
 * the Pulumi SDK and the plugins seen so far, then waits for an operation.
 * One operation at a time per child; after `maxOperations`, after a failure
 * and after a cancel or timeout it is retired (SIGTERM: an idle child exits
 * at once) and a fresh one takes its place. At most `size` children live at
 * once (the engine's semaphore keeps busy ones to its concurrency).
 *
 * Every child leads its own process group and carries a marker in its
 * environment, inherited by the Pulumi CLI and the providers. On abort or
 * timeout the child gets SIGTERM (it interrupts the Pulumi CLI, which unlocks
 * the stack) and, after `killGraceMs`, its whole process group gets SIGKILL.
 * A child that dies without answering takes its process group and every
 * process carrying its marker with it, so no orphan keeps holding the
 * stack's lock; only its own operation fails. Children end with the server:
 * a child whose IPC channel closes stops its operation and exits.
 */
export function createChildPool(options: ChildPoolOptions): ChildPool {
  const children = new Set<Child>();
  const idle: Child[] = [];
  const preloads = new Set<string>();
  const maxOperations = Math.max(1, options.maxOperations);
  let closed = false;

  const lifecycle = (child: Child, phase: EngineChildEvent["phase"], job?: EngineJob): void => {
    options.onChild?.({
      phase,
      pid: child.pid,
      ...(job && { stackName: job.stackName, operation: job.operation }),
      elapsedMs: Date.now() - child.forkedAt,
    });
  };

  function spawnChild(): Child | undefined {
    // Inherited by the CLI and its providers, so strays can be found after a crash (see reapStrays).
    const runId = randomUUID();
    const forkedAt = Date.now();
    const proc = fork(childEntry, [], {
      execArgv: ["--import", tsxLoader],
      detached: true,
      // The last pipe carries heartbeats to the child's silence watchdog (silence-watchdog.ts).
      stdio: ["ignore", "pipe", "pipe", "ipc", "pipe"],
      env: { ...process.env, [markerName]: runId, PLINTH_ENGINE_PRELOAD: JSON.stringify([...preloads]) },
    });
    if (proc.pid === undefined) {
      proc.on("error", () => undefined);
      return undefined;
    }
    let markReady: (ready: boolean) => void = () => undefined;
    let markExited: (exit: { code: number | null; signal: NodeJS.Signals | null }) => void = () => undefined;
    const child: Child = {
      process: proc,
      pid: proc.pid,
      forkedAt,
      ready: new Promise((resolve) => (markReady = resolve)),
      isReady: false,
      operations: 0,
      retiring: false,
      exited: new Promise((resolve) => (markExited = resolve)),
      hasExited: false,
      stderrTail: [],
    };
    children.add(child);
    // An idle child must not keep the server's event loop alive; a busy one is referenced while it works.
    idleHandles(child, true);

    const line = (text: string): void => {
      if (child.assignment) child.assignment.onLine(text);
      else options.onOutputLine?.(text);
    };
    let pending = "";
    proc.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop() ?? "";
      for (const text of lines) {
        line(text);
        child.stderrTail.push(text);
        if (child.stderrTail.length > stderrTailLines) child.stderrTail.shift();
      }
    });
    proc.stdout?.setEncoding("utf8").on("data", (chunk: string) => line(chunk.trimEnd()));
    // A child that died takes its end of the pipe with it: a heartbeat written then must not end the server.
    heartbeats(proc)?.on("error", () => undefined);
    proc.on("message", (message: ChildMessage) => {
      if (message.type === "ready") {
        child.isReady = true;
        child.readyAt = Date.now();
        lifecycle(child, "ready");
        markReady(true);
        return;
      }
      if (message.type === "replica-beats") {
        answerReplicaBeats(proc, message);
        return;
      }
      child.assignment?.onMessage(message);
    });
    proc.once("error", (error) => {
      child.stderrTail.push(`could not start the engine child: ${error.message}`);
    });
    proc.once("exit", (code) => {
      child.hasExited = true;
      // Whatever it left running (a CLI mid-update, providers) goes with it, unless it ended cleanly.
      if (code === 0 && !child.assignment) return;
      killGroup(child.pid, "SIGKILL");
      const strays = reapStrays(`${markerName}=${runId}`);
      if (strays.length > 0) options.onWarning?.(`killed ${strays.length} process(es) the engine child left behind`);
    });
    proc.once("close", (code: number | null, signal: NodeJS.Signals | null) => {
      child.hasExited = true;
      children.delete(child);
      const index = idle.indexOf(child);
      if (index >= 0) idle.splice(index, 1);
      lifecycle(child, "exited");
      markReady(false);
      markExited({ code, signal });
      // A child that was ready once is replaced; one that never got ready is not (no fork loop on a broken setup).
      if (child.isReady) topUp();
    });
    lifecycle(child, "started");
    return child;
  }

  function answerReplicaBeats(proc: ChildProcess, question: { id: number; host: string }): void {
    const ask = options.replicaBeats ?? (() => Promise.reject(new Error("this engine has no store to ask")));
    const reply = (answer: Omit<ReplicaBeatsAnswer, "type" | "id">): void => {
      if (proc.connected)
        proc.send({ type: "replica-beats", id: question.id, ...answer } satisfies ReplicaBeatsAnswer, () => undefined);
    };
    ask(question.host).then(
      (beats) => reply({ beats }),
      (error: unknown) => reply({ error: (error as Error).message }),
    );
  }

  function idleHandles(child: Child, isIdle: boolean): void {
    const proc = child.process as ChildProcess & { channel?: { ref(): void; unref(): void } };
    const handles = [proc.stdout, proc.stderr, heartbeats(proc)] as Array<{ ref?(): void; unref?(): void } | null>;
    if (isIdle) {
      proc.unref();
      proc.channel?.unref();
      for (const handle of handles) handle?.unref?.();
    } else {
      proc.ref();
      proc.channel?.ref();
      for (const handle of handles) handle?.ref?.();
    }
  }

  /** Keeps `size` children alive: the ones that went are replaced, warm, before they are needed. */
  function topUp(): void {
    while (!closed && children.size < options.size) {
      const child = spawnChild();
      if (!child) return;
      idle.push(child);
    }
  }

  function retire(child: Child): void {
    if (child.retiring || child.hasExited) return;
    child.retiring = true;
    const index = idle.indexOf(child);
    if (index >= 0) idle.splice(index, 1);
    child.process.kill("SIGTERM");
  }

  /**
   * The idle child that worked most recently, else the oldest idle one, else
   * a new one; spares are forked meanwhile. A child that has worked has loaded
   * the plugins it met and checked the CLI; handing a trickle of operations
   * round the pool would make every child pay for that in turn.
   */
  function take(): { child: Child | undefined; warm: boolean } {
    // One that died while idle (its exit is on the way) is skipped.
    for (const child of idle.filter((candidate) => candidate.hasExited)) idle.splice(idle.indexOf(child), 1);
    const worked = idle.findLastIndex((candidate) => candidate.isReady && candidate.operations > 0);
    const found = idle.splice(worked >= 0 ? worked : 0, 1)[0];
    if (found) {
      const warm = found.isReady;
      topUp();
      return { child: found, warm };
    }
    const child = spawnChild();
    return { child, warm: false };
  }

  async function run(request: RunOptions): Promise<ChildOutcome> {
    const { job } = request;
    const handedOut = Date.now();
    const { child, warm } = take();
    if (!child) {
      return {
        ok: false,
        failure: { kind: "internal", message: "could not start the engine child: no pid" },
        marks: [],
        warm: false,
      };
    }
    idleHandles(child, false);
    const marks: PhaseMarks = [];
    let answer: ChildOutcome | undefined;
    let stopReason: "cancelled" | "timeout" | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let heartbeat: NodeJS.Timeout | undefined;

    const stop = (reason: "cancelled" | "timeout"): void => {
      if (stopReason || answer || child.hasExited) return;
      stopReason = reason;
      child.retiring = true;
      child.process.kill("SIGTERM");
      killTimer = setTimeout(() => killGroup(child.pid, "SIGKILL"), request.killGraceMs);
    };
    const onAbort = (): void => stop("cancelled");
    const timeout = setTimeout(() => stop("timeout"), request.timeoutMs);
    request.signal?.addEventListener("abort", onAbort, { once: true });

    return await new Promise<ChildOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: ChildOutcome): void => {
        if (settled) return;
        settled = true;
        clearInterval(heartbeat);
        clearTimeout(timeout);
        clearTimeout(killTimer);
        request.signal?.removeEventListener("abort", onAbort);
        child.assignment = undefined;
        lifecycle(child, "released", job);
        resolve(outcome);
        if (child.hasExited) return;
        child.operations++;
        // Only a child whose operation ended cleanly, within its budget, works again.
        if (!outcome.ok || child.retiring || closed || child.operations >= maxOperations) retire(child);
        else {
          idleHandles(child, true);
          idle.push(child);
        }
      };
      const onExit = ({ code, signal }: { code: number | null; signal: NodeJS.Signals | null }): void => {
        if (answer && !(stopReason && !answer.ok)) finish(answer);
        else if (stopReason === "timeout")
          finish({ ok: false, failure: { kind: "timeout", timeoutMs: request.timeoutMs }, marks, warm });
        else if (stopReason === "cancelled") finish({ ok: false, failure: { kind: "cancelled" }, marks, warm });
        else
          finish({
            ok: false,
            failure: { kind: "exited", code, signal, stderrTail: child.stderrTail.join("\n") },
            marks,
            warm,
          });
      };
      child.assignment = {
        onLine: (text) => request.onOutputLine?.(text),
        onMessage: (message) => {
          switch (message.type) {
            case "event":
              request.onEvent?.(message.event);
              return;
            case "done":
              answer = { ok: true, result: message.result, marks: [...marks, ...message.marks], warm };
              break;
            case "failed":
              answer = { ok: false, failure: message.failure, marks: [...marks, ...message.marks], warm };
              break;
            default:
              return;
          }
          // A stopped child answers, then exits: its answer counts once it has (see onExit).
          if (!stopReason) finish(answer);
        },
      };
      void child.exited.then(onExit);
      lifecycle(child, "assigned", job);
      if (request.signal?.aborted) {
        stop("cancelled");
        return;
      }
      void child.ready.then((ready) => {
        if (!ready || settled || stopReason) return; // Its exit answers.
        marks.push([warm ? "warm-child" : "child-ready", Math.max(handedOut, child.readyAt ?? handedOut)]);
        child.process.send({ type: "run", job } satisfies RunMessage, (error) => {
          // The channel closed under us: the child is gone, and its exit answers.
          if (error) killGroup(child.pid, "SIGKILL");
        });
        // Several heartbeats per silence the child tolerates, so a busy event loop does not stop it by mistake.
        heartbeat = setInterval(
          () => {
            const pipe = heartbeats(child.process);
            if (pipe?.writable) pipe.write("h");
          },
          Math.max(50, Math.floor(job.parentSilenceMs / 6)),
        );
      });
    });
  }

  topUp();

  return {
    run,
    preload(module) {
      preloads.add(module);
    },
    async close() {
      closed = true;
      for (const child of [...idle]) retire(child);
      await Promise.all([...children].map((child) => child.exited));
    },
  };
}
