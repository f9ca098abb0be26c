import { setTimeout as sleep } from "node:timers/promises";
import type { Stack } from "@pulumi/pulumi/automation/index.js";
import { PulumiFailureError } from "./child-protocol.ts";
import { readPostgresStackLocks } from "./postgres-stack-locks.ts";
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

/** A stack's locks as this backend lets them be read, or undefined when it cannot be (object stores). */
interface ReadLocks {
  locks: StackLock[];
  /**
   * Whether a lock of another host is cleared once `waitMs` has passed. A
   * PostgreSQL backend is shared by replicas on many hosts, and another
   * host's pid cannot be checked from here: presuming it alive until the
   * lock is stale would hold a crashed host's resources for the whole
   * operation timeout. Its child, unheard, stops its CLI within its silence
   * and grace, which `waitMs` exceeds. A file backend is one host's.
   */
  otherHostsWaitedOut: boolean;
}

async function readLocks(backendUrl: string, projectName: string, stackName: string): Promise<ReadLocks | undefined> {
  if (/^postgres(ql)?:\/\//.test(backendUrl))
    return { locks: await readPostgresStackLocks(backendUrl, projectName, stackName), otherHostsWaitedOut: true };
  const locks = readStackLocks(backendUrl, projectName, stackName);
  return locks && { locks, otherHostsWaitedOut: false };
}

/**
 * Clears the stack's locks (`stack.cancel()`) once no process that may still
 * be updating the stack holds one. The lease says no other attempt of this
 * change runs, but an engine child whose server died or stopped keeps its
 * Pulumi CLI until it notices (see engine-child.ts): clearing that live lock
 * would let two updates write the same checkpoint. So the file and
 * PostgreSQL backends' locks are read and judged (lockHolderMayBeAlive): a
 * holder on this host is waited for while its pid lives, up to `waitMs`, and
 * then the attempt fails retryable, leaving the lock alone; never cleared on
 * the lease alone. Holders on other hosts: see `otherHostsWaitedOut`.
 * Backends whose locks cannot be read here (object stores) are waited out
 * for the whole `waitMs`, longer than an unheard child takes to stop its CLI
 * (its silence, then its grace).
 */
export async function clearStackLock(stack: Stack, options: ClearStackLockOptions): Promise<void> {
  const deadline = Date.now() + options.waitMs;
  let told = false;
  for (;;) {
    options.signal.throwIfAborted();
    const read = await readLocks(options.backendUrl, options.projectName, options.stackName);
    if (read === undefined) {
      options.onWaiting?.([]);
      await sleep(Math.max(0, deadline - Date.now()), undefined, { signal: options.signal });
      break;
    }
    const host = thisHost();
    const judgement = { host, now: Date.now(), staleMs: options.staleMs, isAlive: processIsAlive };
    const live = read.locks.filter((lock) => lockHolderMayBeAlive(lock, judgement));
    if (live.length === 0) break;
    if (!told) {
      told = true;
      options.onWaiting?.(live);
    }
    if (Date.now() >= deadline) {
      const here = live.filter((lock) => lock.hostname === host);
      if (read.otherHostsWaitedOut && here.length === 0) break;
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
