import type { LoadedPlugin } from "../plugin/registry.ts";
import { queueJob } from "./queue-job.ts";
import type { AccessRequestRecord, ChangeRecord } from "../store/records.ts";
import type { StoreTx } from "../store/store.ts";
import { notifyChange } from "../notifications/emit-notification.ts";
import { DomainError } from "./errors.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { teamsStillToApprove } from "./ownership.ts";
import { planApply } from "./plan-apply.ts";
import type { Precheck } from "../plugin/define-plugin.ts";
import { PluginFault, precheckOf } from "./plugin-calls.ts";
import { sameJson } from "./spec-diff.ts";
import { appliedState } from "./submit-checks.ts";
import type { Principal } from "./types.ts";

/** What a change's verdict, computed again against the revision it would be applied on, asks of it. */
export type Verdict =
  | { outcome: "holds" }
  | {
      outcome: "review";
      requiredApprovals: number;
      reviewReasons: string[];
      accessRequests: AccessRequestRecord[];
      /** Why it went back, in words, for its events. */
      why: string;
    }
  | { outcome: "refused"; reason: string };

/** The marker planApply puts in the reasons of a change an admin submitted over the guardrails. */
const overrideReason = "admin override of guardrails:";

/** Whether an admin submitted the change over the guardrails (it was reviewed as such). */
export const overridesGuardrails = (change: Pick<ChangeRecord, "reviewReasons">): boolean =>
  change.reviewReasons.some((reason) => reason.startsWith(overrideReason));

/**
 * A verdict (approvals, access requests, guardrails, quota, unowned reach)
 * belongs to a transition: the applied revision a change starts from and the
 * spec it ends at. Submit computes it against the latest live change, which
 * may never apply (cancelled, rejected, failed), and a change may wait long
 * enough for the world around it to move (a topic created under a granted
 * prefix). So the worker, at claim, and RetryChange compute it again with the
 * same planApply, against what is applied now, and compare it with what the
 * change holds: approvals already given stay; anything more sends the change
 * back to review; a transition that can no longer be allowed is refused.
 */
export async function verdictAgainstApplied(
  tx: StoreTx,
  deps: LifecycleDeps,
  plugin: LoadedPlugin,
  change: ChangeRecord,
  /** The plugin's `precheck` against what is applied now (see `precheckAgainstApplied`), run before the transaction. */
  precheck?: Precheck,
): Promise<Verdict> {
  if (change.kind === "DELETE" || !change.resolvedSpec || !change.spec) return { outcome: "holds" };
  const resource = await tx.getResource(change.type, change.name);
  const overridden = overridesGuardrails(change);
  // Plugins' review rules do not look at roles; the override alone is an admin's, and was reviewed as such.
  const requester: Principal = {
    id: change.requestedBy,
    team: change.team,
    roles: overridden ? ["admin"] : ["requester"],
  };
  const basis = appliedState(resource);
  let plan;
  try {
    plan = await planApply(tx, deps, plugin, requester, change.name, change.spec, change.labels, basis, {
      force: true,
      overrideGuardrails: overridden,
      resolved: { spec: change.resolvedSpec, explanations: change.explanations },
      precheck,
    });
  } catch (error) {
    if (!(error instanceof DomainError) && !(error instanceof PluginFault)) throw error;
    return {
      outcome: "refused",
      reason: `against revision ${resource?.revision ?? 0}, as applied now, this change can no longer be allowed: ${error.message}`,
    };
  }
  const approvals = change.reviews.filter((review) => review.decision === "APPROVED").length;
  const waitingFor = teamsStillToApprove(plan.accessRequests, change.reviews);
  if (approvals >= plan.requiredApprovals && waitingFor.length === 0) return { outcome: "holds" };
  const missing = [
    ...(approvals < plan.requiredApprovals ? [`${plan.requiredApprovals} approval(s), it has ${approvals}`] : []),
    ...(waitingFor.length > 0 ? [`a reviewer of ${waitingFor.join(", ")}`] : []),
  ];
  return {
    outcome: "review",
    requiredApprovals: Math.max(change.requiredApprovals, plan.requiredApprovals),
    reviewReasons: [...new Set([...change.reviewReasons, ...plan.reviewReasons])],
    // What the transition asks now; an approval by a team whose request still holds still counts.
    accessRequests: plan.accessRequests,
    why:
      `back to review: against revision ${resource?.revision ?? 0}, as applied now, this change needs ` +
      missing.join(" and "),
  };
}

/**
 * The plugin's `precheck` (e.g. a schema registry's compatibility check) of
 * the transition as it would apply now, from the applied revision: the real
 * system may have moved since submit (a new schema version registered).
 * Outside any transaction, since it talks to that system; throws
 * UnavailableError when it cannot be asked (the attempt is retried later).
 */
export async function precheckAgainstApplied(
  deps: LifecycleDeps,
  plugin: LoadedPlugin,
  change: ChangeRecord,
): Promise<Precheck | undefined> {
  if (!plugin.definition.precheck || change.kind === "DELETE" || !change.resolvedSpec) return undefined;
  const resource = await deps.store.getResource(change.type, change.name);
  const previous = appliedState(resource);
  const applied = previous.exists ? previous.resolvedSpec : undefined;
  if (applied && sameJson(applied, change.resolvedSpec)) return undefined;
  return await precheckOf(plugin, change.name, change.resolvedSpec, applied, precheckAtClaimTimeoutMs);
}

const precheckAtClaimTimeoutMs = 8_000;

/** Puts a change whose verdict asks for more back to review, keeping its reviews; reviewers get a fresh preview. */
export async function returnToReview(
  tx: StoreTx,
  deps: LifecycleDeps,
  change: ChangeRecord,
  verdict: Extract<Verdict, { outcome: "review" }>,
): Promise<ChangeRecord> {
  const now = deps.now().toISOString();
  const next: ChangeRecord = {
    ...change,
    status: "PENDING_REVIEW",
    requiredApprovals: verdict.requiredApprovals,
    reviewReasons: verdict.reviewReasons,
    accessRequests: verdict.accessRequests,
    preview: null,
    finishedAt: null,
    updatedAt: now,
  };
  await tx.updateChange(next);
  await tx.appendEvent({
    changeId: change.id,
    time: now,
    status: "PENDING_REVIEW",
    kind: "status",
    message: verdict.why,
    details: null,
  });
  await queueJob(tx, change, "preview");
  await notifyChange(tx, deps, next, "PENDING_REVIEW");
  return next;
}

/**
 * Fails a change whose transition can no longer be allowed, before anything
 * ran: the resource keeps what is applied (and its status); the caller ends the job.
 */
export async function refuseChange(
  tx: StoreTx,
  deps: LifecycleDeps,
  change: ChangeRecord,
  reason: string,
): Promise<ChangeRecord> {
  const now = deps.now().toISOString();
  const failed: ChangeRecord = { ...change, status: "FAILED", lastError: reason, updatedAt: now, finishedAt: now };
  await tx.updateChange(failed);
  await tx.appendEvent({
    changeId: change.id,
    time: now,
    status: "FAILED",
    kind: "status",
    message: reason,
    details: null,
  });
  await notifyChange(tx, deps, failed, "FAILED");
  const resource = await tx.getResource(change.type, change.name);
  // A create that never applied has nothing else to show: its row says so, as any failed create's does.
  if (resource && resource.revision === 0) await tx.upsertResource({ ...resource, status: "FAILED", updatedAt: now });
  return failed;
}
