import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { EngineEvent } from "../engine.ts";
import type { ChildMessage, ChildResult, EngineJob, PhaseMarks, PulumiFailure, RunMessage } from "./child-protocol.ts";
import { reapStrays } from "./reap-strays.ts";

/** A moment in an engine child's life, for hooks, logs and tests. */
export interface EngineChildEvent {
  phase: "started" | "ready" | "exited";
  /** The child's pid; it leads its own process group, so `process.kill(-pid)` reaches the Pulumi CLI and providers too. */
  pid: number;
  stackName: string;
  operation: EngineJob["operation"];
  /** Milliseconds since the fork: at "ready", the cost of starting Node, tsx and the Pulumi SDK. */
  elapsedMs: number;
}

export interface RunEngineChildOptions {
  job: EngineJob;
  onEvent?: (event: EngineEvent) => void;
  onChild?: (event: EngineChildEvent) => void;
  /** Output lines of the child (stdout and stderr), for debug logs. */
  onOutputLine?: (line: string) => void;
  /** Something an operator should know, e.g. processes a dead child left behind were killed. */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
  timeoutMs: number;
  /** After SIGTERM, how long the child may take to interrupt Pulumi and answer before SIGKILL. */
  killGraceMs: number;
}

export type ChildOutcome = ({ ok: true; result: ChildResult } | { ok: false; failure: PulumiFailure }) & {
  /** When each phase ended, from the fork to the answer (see `phaseDurations`). */
  marks: PhaseMarks;
};

const childEntry = fileURLToPath(new URL("./engine-child.ts", import.meta.url));
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

/**
 * Forks one engine child, hands it the job over IPC and resolves with its
 * answer. Never rejects: every way it can go wrong is a `PulumiFailure`.
 * On abort or timeout the child gets SIGTERM (it interrupts the Pulumi CLI,
 * which unlocks the stack) and, after `killGraceMs`, its whole process group
 * gets SIGKILL. A child that dies without answering takes its process group
 * (the CLI) and every process carrying its marker (the providers, which the
 * CLI starts in groups of their own) with it, so no orphan keeps holding the
 * stack's lock or running.
 */
export function runEngineChild(options: RunEngineChildOptions): Promise<ChildOutcome> {
  const { job } = options;
  const started = Date.now();
  // Inherited by the CLI and its providers, so strays can be found after a crash (see reapStrays).
  const runId = randomUUID();
  const marker = `${markerName}=${runId}`;
  return new Promise((resolve) => {
    const child = fork(childEntry, [], {
      execArgv: ["--import", tsxLoader],
      detached: true,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: { ...process.env, [markerName]: runId },
    });
    let answer: ChildOutcome | undefined;
    const marks: PhaseMarks = [["fork", started]];
    let stopReason: "cancelled" | "timeout" | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const stderrTail: string[] = [];

    const lifecycle = (phase: EngineChildEvent["phase"]): void => {
      if (child.pid !== undefined) {
        options.onChild?.({
          phase,
          pid: child.pid,
          stackName: job.stackName,
          operation: job.operation,
          elapsedMs: Date.now() - started,
        });
      }
    };
    const stop = (reason: "cancelled" | "timeout"): void => {
      if (stopReason || answer || child.exitCode !== null || child.signalCode !== null) return;
      stopReason = reason;
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.pid !== undefined && killGroup(child.pid, "SIGKILL"), options.killGraceMs);
    };
    const onAbort = (): void => stop("cancelled");
    const timeout = setTimeout(() => stop("timeout"), options.timeoutMs);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) stop("cancelled");

    let pending = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        options.onOutputLine?.(line);
        stderrTail.push(line);
        if (stderrTail.length > stderrTailLines) stderrTail.shift();
      }
    });
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => options.onOutputLine?.(chunk.trimEnd()));

    child.on("message", (message: ChildMessage) => {
      switch (message.type) {
        case "ready":
          marks.push(["child-ready", Date.now()]);
          lifecycle("ready");
          // A child told to stop while it was starting exits on its own; a closed channel is reported by "close".
          if (!stopReason) child.send({ type: "run", job } satisfies RunMessage, () => undefined);
          return;
        case "event":
          options.onEvent?.(message.event);
          return;
        case "done":
          answer = { ok: true, result: message.result, marks: [...marks, ...message.marks] };
          return;
        case "failed":
          answer = { ok: false, failure: message.failure, marks: [...marks, ...message.marks] };
          return;
      }
    });
    child.once("error", (error) => {
      answer ??= {
        ok: false,
        failure: { kind: "internal", message: `could not start the engine child: ${error.message}` },
        marks,
      };
    });
    child.once("exit", (code) => {
      // Whatever it left running (a CLI mid-update, providers) goes with it, unless it finished cleanly.
      if (answer && code === 0) return;
      if (child.pid !== undefined) killGroup(child.pid, "SIGKILL");
      const strays = reapStrays(marker);
      if (strays.length > 0) options.onWarning?.(`killed ${strays.length} process(es) the engine child left behind`);
    });
    child.once("close", (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timeout);
      clearTimeout(killTimer);
      options.signal?.removeEventListener("abort", onAbort);
      lifecycle("exited");
      if (answer && !(stopReason && !answer.ok)) {
        resolve(answer);
      } else if (stopReason === "timeout") {
        resolve({ ok: false, failure: { kind: "timeout", timeoutMs: options.timeoutMs }, marks });
      } else if (stopReason === "cancelled") {
        resolve({ ok: false, failure: { kind: "cancelled" }, marks });
      } else {
        resolve({ ok: false, failure: { kind: "exited", code, signal, stderrTail: stderrTail.join("\n") }, marks });
      }
    });
    lifecycle("started");
  });
}
