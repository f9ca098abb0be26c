import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ReplicaBeat } from "../../store/records.ts";

/** One lock file of a stack in a file backend, as the Pulumi CLI wrote it (its `lockContent`). */
export interface StackLock {
  file: string;
  /** The pid of the CLI that took the lock. */
  pid?: number;
  hostname?: string;
  /** When the lock was taken, ms since the epoch. */
  takenAt?: number;
}

export interface LockJudgement {
  /** This machine's host name, as Go's `os.Hostname` reports it. */
  host: string;
  now: number;
  /** No operation holds a lock longer: the engine stops it at its timeout, or at its grace when its server died. */
  staleMs: number;
  isAlive: (pid: number) => boolean;
  /** The beats of other hosts' replicas, by host (see `clearStackLock`); a host missing here is presumed alive. */
  beats?: ReadonlyMap<string, ReplicaBeat[]>;
  /** A replica silent for longer than this is dead, and its engine children have stopped their CLI. */
  replicaSilenceMs?: number;
  /** How far a lock's time may be off the store's clock: a replica that started this soon after it may hold it. */
  clockSlackMs?: number;
}

/**
 * The lock files of a stack, or undefined when the backend is not a file
 * backend (its locks cannot be read here). The file backend keeps them at
 * `.pulumi/locks/organization/<project>/<stack>/<id>.json`. One whose content
 * cannot be read is dated by its file, so that it too becomes stale.
 */
export function readStackLocks(backendUrl: string, projectName: string, stackName: string): StackLock[] | undefined {
  const dir = stackLockDir(backendUrl, projectName, stackName);
  if (!dir) return undefined;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith(".json"))
    .map((name) => {
      const file = join(dir, name);
      const lock: StackLock = { file };
      try {
        lock.takenAt = statSync(file).mtimeMs;
        const content = JSON.parse(readFileSync(file, "utf8")) as {
          pid?: unknown;
          hostname?: unknown;
          timestamp?: unknown;
        };
        const takenAt = typeof content.timestamp === "string" ? Date.parse(content.timestamp) : Number.NaN;
        if (typeof content.pid === "number") lock.pid = content.pid;
        if (typeof content.hostname === "string") lock.hostname = content.hostname;
        if (!Number.isNaN(takenAt)) lock.takenAt = takenAt;
      } catch {
        // Gone meanwhile, or not JSON: judged by what is known.
      }
      return lock;
    });
}

/** Where a file backend keeps a stack's lock files; undefined for other backends. */
export function stackLockDir(backendUrl: string, projectName: string, stackName: string): string | undefined {
  if (!backendUrl.startsWith("file://")) return undefined;
  const root = join(fileURLToPath(backendUrl.split("?")[0]!), ".pulumi");
  return join(root, "locks", "organization", projectName, stackName);
}

/**
 * Whether the process that took `lock` may still be running an update. Only
 * three things prove it is not: on this host, its pid is gone; on another
 * host, every replica of that host that was running when the lock was taken
 * has been silent for longer than `replicaSilenceMs` (a replica that started
 * after it cannot hold it); anywhere, the lock is older than any operation
 * may last. A lock of a host no replica has beaten from, or one whose fields
 * could not be read, is otherwise presumed alive.
 */
export function lockHolderMayBeAlive(lock: StackLock, judgement: LockJudgement): boolean {
  // A file written a moment ago may not have its content yet: its age comes from the clock that wrote it.
  if (lock.takenAt !== undefined && judgement.now - lock.takenAt > judgement.staleMs) return false;
  if (lock.hostname === judgement.host && lock.pid !== undefined) return judgement.isAlive(lock.pid);
  const beats = lock.hostname === undefined ? undefined : judgement.beats?.get(lock.hostname);
  if (!beats || lock.takenAt === undefined || judgement.replicaSilenceMs === undefined) return true;
  const age = judgement.now - lock.takenAt;
  const couldHoldIt = beats.filter((beat) => beat.startedMsAgo + (judgement.clockSlackMs ?? 0) >= age);
  if (couldHoldIt.length === 0) return true;
  return couldHoldIt.some((beat) => beat.silentMs <= judgement.replicaSilenceMs!);
}

/** Whether a process with this pid exists on this machine (one of another user counts: it may hold the lock too). */
export function processIsAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // A zombie has exited: it only waits for its parent to read its status.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return true;
  }
}

export const thisHost = (): string => hostname();
