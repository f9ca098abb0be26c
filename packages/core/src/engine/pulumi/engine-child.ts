// Entry point of an engine child process: `node --import tsx engine-child.ts`,
// forked by create-child-pool.ts with an IPC channel. It loads the Pulumi SDK
// (and the plugins it is told to preload) before saying it is ready, then
// runs operations one at a time, as the parent sends them, until the parent
// retires it (SIGTERM while idle), cancels its operation (SIGTERM while
// busy: it answers, then exits) or goes away. The parent retires a child
// after a number of operations, and after any failure, so the Pulumi SDK's
// per-process state never outlives a bounded run, and an unhandled error in
// a plugin's program can only end this process and its one operation.
import type { ReplicaBeat } from "../../store/records.ts";
import type { ChildMessage, ParentMessage, PhaseMarks, ReplicaBeatsAnswer, RunMessage } from "./child-protocol.ts";
import { describeFailure } from "./describe-failure.ts";
import { reapStrays } from "./reap-strays.ts";
import { runPulumiOperation } from "./run-pulumi-operation.ts";
import { startSilenceWatchdog } from "./silence-watchdog.ts";

// Pulumi's state and work files hold encrypted secrets: this user's only (0600), however the server was started.
process.umask(0o077);

/** The operation in hand: how to stop it, and the grace before the CLI is killed when the server is gone. */
let current: { controller: AbortController; stopGraceMs: number } | undefined;
/** Told to stop (SIGTERM) or orphaned: exit once the operation in hand has answered. */
let stopping = false;
let orphaned = false;
/** The CLI and its providers inherit this entry of the environment (see createChildPool). */
const marker = `PLINTH_ENGINE_RUN=${process.env.PLINTH_ENGINE_RUN ?? ""}`;
const parentPid = process.ppid;

/** An orphan takes what it started with it: nobody else is left to (the server reaps only while it lives). */
function exit(code: number): never {
  if (orphaned && process.env.PLINTH_ENGINE_RUN) reapStrays(marker);
  process.exit(code);
}

/** Idle, there is nothing to clean up; busy, the CLI must be interrupted so it unlocks the stack. */
const stop = (reason: string): void => {
  stopping = true;
  if (!current) exit(0);
  current.controller.abort(new Error(reason));
};

/**
 * The server died (SIGKILL, OOM killer): nobody will hear the answer, and
 * the next server will want this stack. Interrupt the CLI, which unlocks the
 * stack once its in-flight steps end; a step that hangs (a frozen target)
 * would keep it, so after the grace the CLI and providers are killed. Their
 * lock then names a dead pid, which the next attempt may clear. When the
 * silence watchdog has interrupted the CLI already, it is not interrupted
 * again: the operation ends as the CLI does.
 */
function onParentGone(reason = "the engine went away", cliInterrupted = false): void {
  if (orphaned) return;
  orphaned = true;
  // Nobody reads these pipes any more: a write must not end this process before it has stopped the CLI.
  process.stdout.on("error", () => undefined);
  process.stderr.on("error", () => undefined);
  // Questions to the parent will never be answered: the lock they were about stays.
  for (const [id, answer] of asked) answer({ type: "replica-beats", id, error: "the server is gone" });
  asked.clear();
  const grace = current?.stopGraceMs ?? 0;
  if (cliInterrupted) stopping = true;
  else stop(reason);
  setTimeout(() => exit(1), grace);
}

// SIGTERM is the parent's "cancel" (busy) or "retire" (idle).
process.on("SIGTERM", () => stop("cancelled by the engine"));
// The IPC channel closes when the parent dies, however it died.
process.on("disconnect", () => onParentGone());
// In case the channel's close is missed: a child whose parent died is handed to another parent.
setInterval(() => process.ppid !== parentPid && onParentGone(), 1_000).unref();
// A parent that is there but stopped (SIGSTOP, a paused VM) neither dies nor sends heartbeats: once it has been
// silent for less than its lease, the operation stops, before another replica may take the change over. A child
// paused with it sees the silence as soon as it runs again. Watched from a thread of its own (silence-watchdog.ts),
// which stops the CLI even while a plugin's program blocks this one.
const watchdog = startSilenceWatchdog(marker, (quietMs, cliInterrupted) =>
  onParentGone(`the server has not been heard from for ${quietMs} ms`, cliInterrupted),
);

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Questions about other hosts' replicas, sent to the parent (which asks its store), by id. */
const asked = new Map<number, (answer: ReplicaBeatsAnswer) => void>();
let lastQuestion = 0;

function replicaBeats(host: string): Promise<ReplicaBeat[]> {
  const id = ++lastQuestion;
  const answered = new Promise<ReplicaBeatsAnswer>((resolve) => asked.set(id, resolve));
  return send({ type: "replica-beats", id, host }).then(async () => {
    if (!process.connected) throw new Error("the server is gone");
    const answer = await answered;
    if (answer.error !== undefined || !answer.beats) throw new Error(answer.error ?? "no answer");
    return answer.beats;
  });
}

async function run(message: RunMessage): Promise<void> {
  if (current || stopping) return; // The parent sends one operation at a time; never run two.
  const controller = new AbortController();
  current = { controller, stopGraceMs: message.job.stopGraceMs };
  watchdog.begin(message.job.parentSilenceMs, message.job.stopGraceMs);
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
      replicaBeats,
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
  watchdog.end();
  current = undefined;
  // Cancelled or orphaned: this process has done its last job.
  if (stopping) exit(0);
}

/** Loads what every operation needs, so the first one does not pay for it. A module that fails loads again (and reports) when used. */
async function preload(): Promise<void> {
  await import("@pulumi/pulumi");
  await import("@pulumi/pulumi/automation/index.js");
  const modules = JSON.parse(process.env.PLINTH_ENGINE_PRELOAD ?? "[]") as string[];
  delete process.env.PLINTH_ENGINE_PRELOAD;
  for (const module of modules) await import(module).catch(() => undefined);
}

process.on("message", (message: ParentMessage) => {
  watchdog.heard();
  if (message.type === "run") void run(message);
  else if (message.type === "replica-beats") {
    asked.get(message.id)?.(message);
    asked.delete(message.id);
  }
});
await preload();
await send({ type: "ready" });
