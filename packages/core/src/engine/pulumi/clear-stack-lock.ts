import { setTimeout as sleep } from "node:timers/promises";
import type { Stack } from "@pulumi/pulumi/automation/index.js";
import { PulumiFailureError } from "./child-protocol.ts";
import { type StackLock, lockHolderMayBeAlive, processIsAlive, readStackLocks, thisHost } from "./stack-locks.ts";

export interface ClearStackLockOptions {
  backendUrl: string;
  projectName: string;
  stackName: string;
  /** How long to wait for a live holder to finish before giving up with a retryable CONCURRENT_UPDATE. */
  waitMs: number;
  /** A lock older than this is stale whoever holds it (see `LockJudgement.staleMs`). */
  staleMs: number;
  signal: AbortSignal;
  /** Called once, when a holder that may be alive makes it wait. */
  onWaiting?: (holders: StackLock[]) => void;
}

const pollMs = 250;

function describeHolders(holders: StackLock[]): string {
  return holders
    .map((lock) =>
      lock.pid === undefined
        ? "an unreadable lock file"
        : `pid ${lock.pid} on ${lock.hostname ?? "an unknown host"}${lock.takenAt === undefined ? "" : ` since ${new Date(lock.takenAt).toISOString()}`}`,
    )
    .join(", ");
}

/**
 * Clears the stack's locks (`stack.cancel()`) once no process that may still
 * be updating the stack holds one. The lease says no other attempt of this
 * change runs, but an engine child whose server died or stopped keeps its
 * Pulumi CLI until it notices (see engine-child.ts): clearing that live lock
 * would let two updates write the same checkpoint. So a holder that may be
 * alive is waited for, up to `waitMs`, and then the attempt fails retryable,
 * leaving the lock alone. Backends whose lock files cannot be read here (not
 * `file://`, e.g. `postgres://`) are never cleared on the lease alone: the
 * whole `waitMs` is waited out first, longer than an unheard child takes to
 * stop its CLI (its silence, then its grace).
 */
export async function clearStackLock(stack: Stack, options: ClearStackLockOptions): Promise<void> {
  const deadline = Date.now() + options.waitMs;
  let told = false;
  for (;;) {
    options.signal.throwIfAborted();
    const locks = readStackLocks(options.backendUrl, options.projectName, options.stackName);
    if (locks === undefined) {
      options.onWaiting?.([]);
      await sleep(Math.max(0, deadline - Date.now()), undefined, { signal: options.signal });
      break;
    }
    const judgement = { host: thisHost(), now: Date.now(), staleMs: options.staleMs, isAlive: processIsAlive };
    const live = locks.filter((lock) => lockHolderMayBeAlive(lock, judgement));
    if (live.length === 0) break;
    if (!told) {
      told = true;
      options.onWaiting?.(live);
    }
    if (Date.now() >= deadline) {
      throw new PulumiFailureError({
        kind: "command",
        errorName: "ConcurrentUpdateError",
        output: `the stack is locked by ${describeHolders(live)}, which may still be running; its lock was left alone`,
        diagnostics: [],
      });
    }
    await sleep(pollMs, undefined, { signal: options.signal });
  }
  await stack.cancel();
}
