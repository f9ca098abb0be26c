import { notifyChange } from "../notifications/emit-notification.ts";
import type { ChangeRecord, JobRecord } from "../store/records.ts";
import type { EngineOutputs } from "../engine/engine.ts";
import { backoffDelay } from "./backoff.ts";
import { classifyFailure } from "./classify-failure.ts";
import { LeaseLost, type WorkerContext } from "./worker-context.ts";

// The end of an attempt, recorded in one transaction and only while this worker still holds the lease.

/** Appends the revision, updates the resource and finishes the change. */
export async function recordSuccess(
  ctx: WorkerContext,
  job: JobRecord,
  change: ChangeRecord,
  result: EngineOutputs,
): Promise<void> {
  const { deps, options } = ctx;
  await deps.store.transact(async (tx) => {
    const current = await tx.getJob(job.changeId);
    if (!current || current.leaseOwner !== options.id) throw new LeaseLost("lease lost before the result was recorded");
    const resource = await tx.getResource(change.type, change.name);
    if (!resource) throw new Error(`resource row for ${change.type}/${change.name} is missing`);
    const now = deps.now().toISOString();
    const revision = resource.revision + 1;
    const deleted = change.kind === "DELETE";
    const approvedBy = change.reviews.filter((r) => r.decision === "APPROVED").map((r) => r.reviewer);
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
      ...change,
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
  await deps.store.transact(async (tx) => {
    const current = await tx.getJob(job.changeId);
    if (!current || current.leaseOwner !== options.id) return;
    if (current.phase === "preview") return;
    const now = deps.now();
    const stamp = now.toISOString();
    if (retry) {
      const wait = backoffDelay(change.attempts, options.retryBaseMs, options.retryMaxMs);
      await tx.upsertJob({ ...current, runAfter: now.getTime() + wait, leaseOwner: null, leaseExpiresAt: null });
      await tx.updateChange({ ...change, status: "QUEUED", lastError: failure.message, updatedAt: stamp });
      await tx.appendEvent({
        changeId: change.id,
        time: stamp,
        status: "QUEUED",
        kind: "retry",
        message: `attempt ${change.attempts} failed; retrying in ${Math.round(wait / 100) / 10} s: ${failure.message}`,
        details: { attempt: change.attempts, retryInMs: wait },
      });
      return;
    }
    await tx.deleteJob(change.id);
    const failed: ChangeRecord = {
      ...change,
      status: "FAILED",
      lastError: failure.message,
      updatedAt: stamp,
      finishedAt: stamp,
    };
    await tx.updateChange(failed);
    await notifyChange(tx, deps, failed, "FAILED");
    await tx.appendEvent({
      changeId: change.id,
      time: stamp,
      status: "FAILED",
      kind: "status",
      message: `failed after ${change.attempts} attempt(s): ${failure.message}`,
      details: null,
    });
    const resource = await tx.getResource(change.type, change.name);
    if (resource) await tx.upsertResource({ ...resource, status: "FAILED", updatedAt: stamp });
  });
  if (retry) deps.metrics.retries.inc({ type: change.type });
}
