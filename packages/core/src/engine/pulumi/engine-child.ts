// Entry point of an engine child process: `node --import tsx engine-child.ts`,
// forked by run-engine-child.ts with an IPC channel. It runs exactly one
// operation and exits, so the Pulumi SDK's per-process state never outlives
// it and an unhandled error in a plugin's program can only end this process.
import type { ChildMessage, PhaseMarks, RunMessage } from "./child-protocol.ts";
import { describeFailure } from "./describe-failure.ts";
import { reapStrays } from "./reap-strays.ts";
import { runPulumiOperation } from "./run-pulumi-operation.ts";

// Pulumi's state and work files hold encrypted secrets: this user's only (0600), however the server was started.
process.umask(0o077);

const controller = new AbortController();
/** Set once the job arrives: its grace before the CLI is killed when the server is gone. */
let stopGraceMs: number | undefined;
let orphaned = false;
/** The CLI and its providers inherit this entry of the environment (see runEngineChild). */
const marker = `PLINTH_ENGINE_RUN=${process.env.PLINTH_ENGINE_RUN ?? ""}`;
const parentPid = process.ppid;

/** An orphan takes what it started with it: nobody else is left to (the server reaps only while it lives). */
function exit(code: number): never {
  if (orphaned && process.env.PLINTH_ENGINE_RUN) reapStrays(marker);
  process.exit(code);
}

/** Before the job starts there is nothing to clean up; after, the CLI must be interrupted so it unlocks the stack. */
const stop = (reason: string): void => {
  if (stopGraceMs === undefined) exit(0);
  controller.abort(new Error(reason));
};

/**
 * The server died (SIGKILL, OOM killer): nobody will hear the answer, and
 * the next server will want this stack. Interrupt the CLI, which unlocks the
 * stack once its in-flight steps end; a step that hangs (a frozen target)
 * would keep it, so after the grace the CLI and providers are killed. Their
 * lock then names a dead pid, which the next attempt may clear.
 */
function onParentGone(): void {
  if (orphaned) return;
  orphaned = true;
  // Nobody reads these pipes any more: a write must not end this process before it has stopped the CLI.
  process.stdout.on("error", () => undefined);
  process.stderr.on("error", () => undefined);
  stop("the engine went away");
  setTimeout(() => exit(1), stopGraceMs ?? 0);
}

// SIGTERM is the parent's "cancel": interrupt the CLI, answer, exit (the parent kills what is left after its grace).
process.on("SIGTERM", () => stop("cancelled by the engine"));
// The IPC channel closes when the parent dies, however it died.
process.on("disconnect", onParentGone);
// In case the channel's close is missed: a child whose parent died is handed to another parent.
setInterval(() => process.ppid !== parentPid && onParentGone(), 1_000).unref();

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

async function run(message: RunMessage): Promise<void> {
  stopGraceMs = message.job.stopGraceMs;
  const marks: PhaseMarks = [["job-received", Date.now()]];
  const mark = (phase: string): void => {
    if (!marks.some(([seen]) => seen === phase)) marks.push([phase, Date.now()]);
  };
  let answer: ChildMessage;
  try {
    const result = await runPulumiOperation(message.job, {
      emit: (event) => void send({ type: "event", event }),
      signal: controller.signal,
      mark,
    });
    mark("operation-done");
    answer = { type: "done", result, marks };
  } catch (error) {
    mark("operation-failed");
    answer = {
      type: "failed",
      failure: describeFailure(error, { programError: undefined, diagnostics: [], signal: controller.signal }),
      marks,
    };
  }
  await send(answer);
  // gRPC servers and provider connections may keep the loop alive; this process has done its one job.
  exit(0);
}

process.once("message", (message: RunMessage) => void run(message));
await send({ type: "ready" });
