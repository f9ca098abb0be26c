import type { JsonObject } from "../domain/types.ts";
import { notifyChange } from "../notifications/emit-notification.ts";
import type { EngineEvent, EngineRequest } from "../engine/engine.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import type { LoadedPlugin } from "../plugin/registry.ts";
import type { ChangePreview, ChangeRecord, JobRecord, ResourceRecord } from "../store/records.ts";
import { classifyFailure } from "./classify-failure.ts";
import { LeaseLost, type WorkerContext, holds } from "./worker-context.ts";
import {
  previewSecretMismatches,
  secretMismatchKey,
  secretMismatchReason,
  secretMismatches,
} from "./secret-mismatch.ts";

/** The engine request for a change; every request refreshes, so an apply also repairs drift. */
export function engineRequest(
  plugin: LoadedPlugin,
  change: ChangeRecord,
  resource: ResourceRecord | undefined,
  signal: AbortSignal,
  secrets: SecretBox,
  onEvent?: (event: EngineEvent) => void,
): EngineRequest {
  // The resource's current secret outputs (its password...) must not come back in an event or error.
  const held = resource?.secretOutputs ? secrets.open(resource.secretOutputs) : {};
  return {
    secrets: Object.values(held).filter((value): value is string => typeof value === "string"),
    heldSecrets: held,
    stackName: `${change.type}--${change.name}`,
    type: change.type,
    name: change.name,
    plugin: plugin.ref,
    settings: plugin.settingsJson,
    resolvedSpec: (change.resolvedSpec ?? resource?.resolvedSpec ?? {}) as JsonObject,
    changeId: change.id,
    kind: change.kind,
    attempt: change.attempts,
    onEvent,
    signal,
    // Always start from the real resource, so an apply also repairs drift.
    refresh: true,
  };
}

/**
 * What the engine would do; a delete is destructive by definition and needs
 * no engine run. An update also records whether the real system holds the
 * secrets Plinth holds (`secretMismatches`): if not, the apply sets them back.
 */
export async function computePreview(
  { deps }: WorkerContext,
  plugin: LoadedPlugin,
  change: ChangeRecord,
  signal: AbortSignal,
  onSlot?: () => void,
): Promise<ChangePreview> {
  const time = deps.now().toISOString();
  if (change.kind === "DELETE") return { steps: { delete: 1 }, destructive: true, details: {}, time };
  const resource = await deps.store.getResource(change.type, change.name);
  const preview = await deps.engine.preview({
    ...engineRequest(plugin, change, resource, signal, deps.secrets),
    onSlot,
  });
  const mismatches = await secretMismatches(plugin, resource, deps.secrets);
  if (mismatches.length === 0) return { ...preview, time };
  return { ...preview, details: { ...preview.details, [secretMismatchKey]: mismatches }, time };
}

const describePreview = (preview: ChangePreview): string =>
  `preview: ${
    Object.entries(preview.steps)
      .map(([op, n]) => `${op} ${n}`)
      .join(", ") || "no changes"
  }${preview.destructive ? " (DESTRUCTIVE: a stateful resource would be replaced or deleted)" : ""}${
    previewSecretMismatches(preview).length > 0
      ? " (SECRET MISMATCH: the real system holds another secret, which this apply sets back)"
      : ""
  }`;

/** Why a preview asks for a reviewer, in words: empty when it does not. */
function previewReviewReasons(preview: ChangePreview): string[] {
  const mismatches = previewSecretMismatches(preview);
  return [
    ...(preview.destructive ? ["the engine preview is destructive: it replaces or deletes a stateful resource"] : []),
    ...(mismatches.length > 0 ? [`${secretMismatchReason}: ${mismatches.join("; ")}`] : []),
  ];
}

/**
 * Whether the attempt `job` may still record a preview: "ours" while its claim
 * holds the job; "superseded" when it was a preview for reviewers and an
 * approval has put an apply job in its place meanwhile (the preview is still
 * worth showing, but that job is not ours to end); otherwise undefined.
 */
function previewStanding(current: JobRecord | undefined, job: JobRecord): "ours" | "superseded" | undefined {
  if (holds(current, job)) return "ours";
  if (job.phase === "preview" && current?.phase === "apply") return "superseded";
  return undefined;
}

/**
 * Records a preview on the change. A destructive one, or one over a secret
 * the real system holds otherwise, raises the change to at least one
 * approval and says why in its reasons; when it was auto-approved it goes
 * back to review instead of being applied. Returns true when the change went
 * back to review.
 */
export async function recordPreview(
  ctx: WorkerContext,
  job: JobRecord,
  change: ChangeRecord,
  preview: ChangePreview,
): Promise<boolean> {
  const { deps } = ctx;
  const held = await deps.store.transact(async (tx) => {
    const standing = previewStanding(await tx.getJob(job.changeId), job);
    if (!standing) throw new LeaseLost("lease lost before the preview was recorded");
    const superseded = standing === "superseded";
    const asks = superseded ? [] : previewReviewReasons(preview);
    const fresh = (await tx.getChange(change.id)) ?? change;
    const escalate = asks.length > 0 && fresh.requiredApprovals < 1;
    const now = deps.now().toISOString();
    const demote = escalate && fresh.status === "APPLYING";
    // A destructive plan is said by the steps reviewers read anyway; a secret mismatch only here.
    const added = escalate ? asks : asks.filter((reason) => reason.startsWith(secretMismatchReason));
    const next: ChangeRecord = {
      ...fresh,
      preview,
      updatedAt: now,
      ...(added.length > 0
        ? {
            requiredApprovals: Math.max(1, fresh.requiredApprovals),
            reviewReasons: [
              ...fresh.reviewReasons.filter((r) => !r.startsWith("auto-approved") && !added.includes(r)),
              ...added,
            ],
          }
        : {}),
      ...(demote ? { status: "PENDING_REVIEW" as const, attempts: Math.max(0, fresh.attempts - 1) } : {}),
    };
    await tx.updateChange(next);
    if (demote) await notifyChange(tx, deps, next, "PENDING_REVIEW");
    await tx.appendEvent({
      changeId: change.id,
      time: now,
      status: demote ? "PENDING_REVIEW" : null,
      kind: "engine",
      message: demote ? `${describePreview(preview)}; held for review` : describePreview(preview),
      details: { steps: preview.steps, destructive: preview.destructive, ...preview.details },
    });
    if (!superseded && (job.phase === "preview" || demote)) await tx.deleteJob(change.id);
    return demote;
  });
  deps.notifier.changeUpdated(change.id);
  return held;
}

/** A preview job: compute the plan for reviewers; a failure is reported, never blocking the review. */
export async function previewForReview(
  ctx: WorkerContext,
  job: JobRecord,
  change: ChangeRecord,
  plugin: LoadedPlugin,
  signal: AbortSignal,
): Promise<void> {
  const { deps } = ctx;
  try {
    await recordPreview(ctx, job, change, await computePreview(ctx, plugin, change, signal));
  } catch (error) {
    if (error instanceof LeaseLost) return;
    // A preview is advice for reviewers: its failure must not block the review.
    await deps.store.transact(async (tx) => {
      const standing = previewStanding(await tx.getJob(change.id), job);
      if (!standing) return;
      await tx.appendEvent({
        changeId: change.id,
        time: deps.now().toISOString(),
        status: null,
        kind: "diagnostic",
        message: `preview unavailable: ${classifyFailure(error).message}`,
        details: null,
      });
      if (standing === "ours") await tx.deleteJob(change.id);
    });
    deps.notifier.changeUpdated(change.id);
  }
}
