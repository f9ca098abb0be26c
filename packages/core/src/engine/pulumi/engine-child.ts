// Entry point of an engine child process: `node --import tsx engine-child.ts`,
// forked by run-engine-child.ts with an IPC channel. It runs exactly one
// operation and exits, so the Pulumi SDK's per-process state never outlives
// it and an unhandled error in a plugin's program can only end this process.
import type { ChildMessage, RunMessage } from "./child-protocol.ts";
import { describeFailure } from "./describe-failure.ts";
import { runPulumiOperation } from "./run-pulumi-operation.ts";

// Pulumi's state and work files hold encrypted secrets: this user's only (0600), however the server was started.
process.umask(0o077);

const controller = new AbortController();
let running = false;
/** Before the job starts there is nothing to clean up; after, the CLI must be interrupted so it unlocks the stack. */
const stop = (reason: string): void => {
  if (!running) process.exit(0);
  controller.abort(new Error(reason));
};
// SIGTERM is the parent's "cancel": interrupt the CLI, answer, exit.
process.on("SIGTERM", () => stop("cancelled by the engine"));
// A parent that died cannot hear the answer; stop rather than hold the stack's lock as an orphan.
process.on("disconnect", () => stop("the engine went away"));

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
  running = true;
  let answer: ChildMessage;
  try {
    const result = await runPulumiOperation(message.job, {
      emit: (event) => void send({ type: "event", event }),
      signal: controller.signal,
    });
    answer = { type: "done", result };
  } catch (error) {
    answer = {
      type: "failed",
      failure: describeFailure(error, { programError: undefined, diagnostics: [], signal: controller.signal }),
    };
  }
  await send(answer);
  // gRPC servers and provider connections may keep the loop alive; this process has done its one job.
  process.exit(0);
}

process.once("message", (message: RunMessage) => void run(message));
await send({ type: "ready" });
