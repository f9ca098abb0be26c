import { setTimeout as sleep } from "node:timers/promises";
import type { Stack } from "@pulumi/pulumi/automation/index.js";
import type { ReplicaBeat } from "../../store/records.ts";
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
  /**
   * The beats of `host`'s replicas, on the store's clock (the server's store, asked over IPC). Absent, or
   * failing, another host's lock is presumed alive until it is stale.
   */
  replicaBeats?: (host: string) => Promise<ReplicaBeat[]>;
  /** A replica silent for longer is dead (see `LockJudgement.replicaSilenceMs`). */
  replicaSilenceMs: number;
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
 * How far a lock's time may be off the store's clock: a file backend's lock is dated by the clock of the host that
 * wrote it, a PostgreSQL backend's by its database, which need not be the store's. A replica that started this soon
 * after the lock was taken still counts as one that may hold it.
 */
const clockSlackMs = 60_000;

/** A stack's locks as this backend lets them be read, or undefined when it cannot be (object stores). */
async function readLocks(backendUrl: string, projectName: string, stackName: string): Promise<StackLock[] | undefined> {
  if (/^postgres(ql)?:\/\//.test(backendUrl)) return readPostgresStackLocks(backendUrl, projectName, stackName);
  return readStackLocks(backendUrl, projectName, stackName);
}

/** The beats of the replicas of each host that holds one of `locks` besides this one; a host that cannot be asked is left out. */
async function beatsOfHosts(
  locks: StackLock[],
  host: string,
  replicaBeats: ClearStackLockOptions["replicaBeats"],
): Promise<Map<string, ReplicaBeat[]>> {
  const beats = new Map<string, ReplicaBeat[]>();
  if (!replicaBeats) return beats;
  const hosts = new Set(locks.flatMap((lock) => (lock.hostname && lock.hostname !== host ? [lock.hostname] : [])));
  for (const other of hosts) {
    const found = await replicaBeats(other).catch(() => undefined);
    if (found) beats.set(other, found);
  }
  return beats;
}

/**
 * Clears the stack's locks (`stack.cancel()`) once no process that may still
 * be updating the stack holds one. The lease says no other attempt of this
 * change runs, but an engine child whose server died or stopped keeps its
 * Pulumi CLI until it notices (see engine-child.ts): clearing that live lock
 * would let two updates write the same checkpoint. So the file and
 * PostgreSQL backends' locks are read and judged (lockHolderMayBeAlive): a
 * holder on this host while its pid lives, and one on another host while a
 * replica of that host that may have taken it beats (on the store's clock),
 * is waited for up to `waitMs`; then the attempt fails retryable, leaving the
 * lock alone. Never cleared on the lease or a timed wait alone. Backends
 * whose locks cannot be read here (object stores) are waited out for the
 * whole `waitMs`, longer than an unheard child takes to stop its CLI (its
 * silence, then its grace).
 */
export async function clearStackLock(stack: Stack, options: ClearStackLockOptions): Promise<void> {
  const deadline = Date.now() + options.waitMs;
  let told = false;
  for (;;) {
    options.signal.throwIfAborted();
    const locks = await readLocks(options.backendUrl, options.projectName, options.stackName);
    if (locks === undefined) {
      options.onWaiting?.([]);
      await sleep(Math.max(0, deadline - Date.now()), undefined, { signal: options.signal });
      break;
    }
    const host = thisHost();
    const beats = await beatsOfHosts(locks, host, options.replicaBeats);
    const judgement = {
      host,
      now: Date.now(),
      staleMs: options.staleMs,
      isAlive: processIsAlive,
      beats,
      replicaSilenceMs: options.replicaSilenceMs,
      clockSlackMs,
    };
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
