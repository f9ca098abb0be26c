import type { LifecycleDeps } from "../domain/lifecycle-deps.ts";
import type { JsonObject } from "../domain/types.ts";
import type { Engine } from "../engine/engine.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import type { ChangeRecord, JobRecord } from "../store/records.ts";

export interface WorkerOptions {
  /** Unique per process: the lease owner. */
  id: string;
  /** Changes applied at once by this worker. */
  concurrency: number;
  /** How long a claim holds without renewal; a dead worker's changes resume after this. */
  leaseMs: number;
  /** How often to look for due work when nothing wakes the worker (retries, other replicas). */
  pollMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  verifyTimeoutMs: number;
  /**
   * On stop, how long the changes in hand may run on to their end; those
   * still running then are stopped and handed over at once (their claim
   * released, their attempt not counted) for another replica to resume.
   */
  drainMs: number;
}

export interface WorkerDeps extends LifecycleDeps {
  engine: Engine;
  logger: Logger;
  metrics: Metrics;
  secrets: SecretBox;
}

/** What the worker's parts share: its dependencies and options. */
export interface WorkerContext {
  deps: WorkerDeps;
  options: WorkerOptions;
}

/** Another worker holds the job now (our lease ran out): drop the work, record nothing. */
export class LeaseLost extends Error {
  override name = "LeaseLost";
}

/**
 * Whether `current` (the job row now) is still held by the claim that took
 * `taken`. Claim tokens, not worker ids: a worker whose lease lapsed may have
 * claimed the same job again, and only its newest claim may act.
 */
export function holds(current: JobRecord | undefined, taken: JobRecord): boolean {
  return !!current && taken.claimToken !== null && current.claimToken === taken.claimToken;
}

/** Appends a non-status event of the attempt `job` to its change and wakes its watchers; nothing once the claim is lost. */
export async function appendChangeEvent(
  { deps }: WorkerContext,
  job: JobRecord,
  change: ChangeRecord,
  kind: "engine" | "diagnostic" | "verify" | "retry",
  message: string,
  details: JsonObject | null,
): Promise<void> {
  const appended = await deps.store.transact(async (tx) => {
    if (!holds(await tx.getJob(job.changeId), job)) return false;
    await tx.appendEvent({ changeId: change.id, time: deps.now().toISOString(), status: null, kind, message, details });
    return true;
  });
  if (appended) deps.notifier.changeUpdated(change.id);
}
