import { notifyChange } from "../notifications/emit-notification.ts";
import type { ChangeRecord, JobRecord } from "../store/records.ts";
import type { StoreTx } from "../store/store.ts";
import type { EngineOutputs } from "../engine/engine.ts";
import { transferTarget } from "../domain/ownership.ts";
import { backoffDelay } from "./backoff.ts";
import { classifyFailure } from "./classify-failure.ts";
import { LeaseLost, type WorkerContext, holds } from "./worker-context.ts";

// The end of an attempt, recorded in one transaction and only while the attempt's own claim still holds the job.
// Each starts from the change row as it is now, not as it was at claim time: the attempt itself wrote to it
// (its preview, for one), and those writes must stay.

/** The change row now; it cannot be gone while its job is held. */
async function currentChange(tx: StoreTx, change: ChangeRecord): Promise<ChangeRecord> {
  const fresh = await tx.getChange(change.id);
  if (!fresh) throw new Error(`change ${change.id} is missing`);
  return fresh;
}

/** Appends the revision, updates the resource and finishes the change. */
export async function recordSuccess(
  ctx: WorkerContext,
  job: JobRecord,
  change: ChangeRecord,
  result: EngineOutputs,
): Promise<void> {
  const { deps } = ctx;
  await deps.store.transact(async (tx) => {
    if (!holds(await tx.getJob(job.changeId), job)) throw new LeaseLost("lease lost before the result was recorded");
    const resource = await tx.getResource(change.type, change.name);
    if (!resource) throw new Error(`resource row for ${change.type}/${change.name} is missing`);
    const fresh = await currentChange(tx, change);
    const now = deps.now().toISOString();
    const revision = resource.revision + 1;
    const deleted = change.kind === "DELETE";
    const approvedBy = fresh.reviews.filter((r) => r.decision === "APPROVED").map((r) => r.reviewer);
    await tx.insertRevision({
      type: change.type,
      name: change.name,
      revision,
      changeId: change.id,
      spec: change.spec,
      resolvedSpec: change.resolvedSpec,
      outputs: deleted ? {} : result.outputs,
      requestedBy: change.requestedBy,
      approvedBy,
      createdAt: now,
      deleted,
    });
    const secretKeys = Object.keys(result.secretOutputs);
    await tx.upsertResource({
      ...resource,
      // A transfer's receiving team approved it: from this revision on, the resource is theirs.
      ownerTeam: transferTarget(change) ?? resource.ownerTeam,
      status: deleted ? "DELETED" : "READY",
      revision,
      spec: deleted ? null : change.spec,
      resolvedSpec: deleted ? null : change.resolvedSpec,
      outputs: deleted ? {} : result.outputs,
      secretOutputs: deleted || secretKeys.length === 0 ? null : deps.secrets.seal(result.secretOutputs),
      secretOutputKeys: deleted ? [] : secretKeys,
      labels: change.labels,
      updatedAt: now,
      drift: null,
    });
    const succeeded: ChangeRecord = {
      ...fresh,
      status: "SUCCEEDED",
      updatedAt: now,
      finishedAt: now,
      lastError: null,
      resultRevision: revision,
    };
    await tx.updateChange(succeeded);
    await notifyChange(tx, deps, succeeded, "SUCCEEDED");
    await tx.appendEvent({
      changeId: change.id,
      time: now,
      status: "SUCCEEDED",
      kind: "status",
      message: deleted ? `deleted; revision ${revision} records it` : `applied as revision ${revision}`,
      details: null,
    });
    await tx.deleteJob(change.id);
  });
}

/** Ends a change as FAILED for good, with its resource: `lastError` is the cause, `message` the event. The caller ends the job. */
export async function failChange(
  tx: StoreTx,
  deps: WorkerContext["deps"],
  change: ChangeRecord,
  lastError: string,
  message: string,
  stamp: string,
): Promise<void> {
  const failed: ChangeRecord = { ...change, status: "FAILED", lastError, updatedAt: stamp, finishedAt: stamp };
  await tx.updateChange(failed);
  await notifyChange(tx, deps, failed, "FAILED");
  await tx.appendEvent({ changeId: change.id, time: stamp, status: "FAILED", kind: "status", message, details: null });
  const resource = await tx.getResource(change.type, change.name);
  if (resource) await tx.upsertResource({ ...resource, status: "FAILED", updatedAt: stamp });
}

/** Schedules a retry with backoff, or fails the change for good. */
export async function recordFailure(
  ctx: WorkerContext,
  job: JobRecord,
  change: ChangeRecord,
  error: unknown,
): Promise<void> {
  const { deps, options } = ctx;
  const failure = classifyFailure(error);
  const retry = failure.retryable && change.attempts < options.maxAttempts;
  const recorded = await deps.store.transact(async (tx) => {
    const current = await tx.getJob(job.changeId);
    if (!current || !holds(current, job) || current.phase === "preview") return false;
    const fresh = await currentChange(tx, change);
    const now = deps.now();
    const stamp = now.toISOString();
    if (retry) {
      const wait = backoffDelay(change.attempts, options.retryBaseMs, options.retryMaxMs);
      // Backoff is wall-clock time by design (a step only moves a retry); the lease ends with this write.
      await tx.upsertJob({ ...current, runAfter: now.getTime() + wait, leaseOwner: null, leaseExpiresAt: null });
      await tx.updateChange({ ...fresh, status: "QUEUED", lastError: failure.message, updatedAt: stamp });
      await tx.appendEvent({
        changeId: change.id,
        time: stamp,
        status: "QUEUED",
        kind: "retry",
        message: `attempt ${change.attempts} failed; retrying in ${Math.round(wait / 100) / 10} s: ${failure.message}`,
        details: { attempt: change.attempts, retryInMs: wait },
      });
      return true;
    }
    await tx.deleteJob(change.id);
    await failChange(
      tx,
      deps,
      fresh,
      failure.message,
      `failed after ${change.attempts} attempt(s): ${failure.message}`,
      stamp,
    );
    return true;
  });
  if (recorded && retry) deps.metrics.retries.inc({ type: change.type });
}
