import { auditIdentity } from "./audit-identity.ts";
import { queueJob } from "./queue-job.ts";
import { notifyChange } from "../notifications/emit-notification.ts";
import type { ChangeRecord } from "../store/records.ts";
import type { StoreTx } from "../store/store.ts";
import { assertCanReview, hasRole } from "./authorization.ts";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError } from "./errors.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { freeTextViolations } from "./free-text-limits.ts";
import { teamsStillToApprove } from "./ownership.ts";
import type { ChangeStatus, Principal } from "./types.ts";
import { returnToReview, verdictAgainstApplied } from "./verdict.ts";

async function loadChange(tx: StoreTx, id: string): Promise<ChangeRecord> {
  const change = id ? await tx.getChange(id) : undefined;
  if (!change) throw new NotFoundError(`change "${id}" does not exist`);
  return change;
}

/** A review comment is free text like a change's: bounded, or one review could fill every page that lists it. */
function checkComment(comment: string): void {
  const violations = freeTextViolations({ comment });
  if (violations.length > 0) throw new InvalidArgumentError(violations);
}

function requireComment(comment: string, action: string): void {
  checkComment(comment);
  if (comment.trim() === "") {
    throw new InvalidArgumentError([
      { field: "comment", description: `is required to ${action} a change: say why`, reason: "REQUIRED" },
    ]);
  }
}

async function transition(
  tx: StoreTx,
  deps: LifecycleDeps,
  change: ChangeRecord,
  status: ChangeStatus,
  message: string,
  kind: "status" | "review" = "status",
): Promise<ChangeRecord> {
  const now = deps.now().toISOString();
  const final = status === "REJECTED" || status === "CANCELLED";
  const next = { ...change, status, updatedAt: now, finishedAt: final ? now : change.finishedAt };
  await tx.updateChange(next);
  await tx.appendEvent({ changeId: change.id, time: now, status, kind, message, details: null });
  return next;
}

/**
 * A create that ends without ever applying gives its name and identity back,
 * unless another live change still needs the resource row.
 */
async function releaseUnappliedResource(tx: StoreTx, change: ChangeRecord): Promise<void> {
  const resource = await tx.getResource(change.type, change.name);
  if (!resource || resource.revision > 0) return;
  const open = (await tx.openChanges(change.type, change.name)).filter((c) => c.id !== change.id);
  if (open.length === 0) await tx.deleteResource(change.type, change.name);
}

function notify(deps: LifecycleDeps, change: ChangeRecord): void {
  deps.notifier.changeUpdated(change.id);
  if (change.status === "QUEUED") deps.notifier.workAvailable();
}

export async function approveChange(
  deps: LifecycleDeps,
  principal: Principal,
  id: string,
  comment: string,
): Promise<ChangeRecord> {
  checkComment(comment);
  const change = await deps.store.transact(async (tx) => {
    const change = await loadChange(tx, id);
    assertCanReview(principal, change, deps.reviewPolicy.platformTeams);
    if (change.status !== "PENDING_REVIEW") {
      throw new FailedPreconditionError(
        `change ${id} is ${change.status}; only a change pending review can be approved`,
      );
    }
    if (change.reviews.some((review) => review.reviewer === principal.id)) {
      throw new FailedPreconditionError(`${principal.id} has already approved change ${id}; another reviewer must`);
    }
    const now = deps.now().toISOString();
    const reviews = [
      ...change.reviews,
      { reviewer: principal.id, team: principal.team, decision: "APPROVED" as const, comment, createdAt: now },
    ];
    await tx.appendAudit({
      time: now,
      principal: principal.id,
      action: "approve-change",
      target: id,
      details: { team: principal.team, ...auditIdentity(principal) },
    });
    const approvals = reviews.filter((review) => review.decision === "APPROVED").length;
    const waitingFor = teamsStillToApprove(change.accessRequests, reviews);
    const done = approvals >= change.requiredApprovals && waitingFor.length === 0;
    const still = waitingFor.length > 0 ? `; still needs a reviewer of ${waitingFor.join(", ")}` : "";
    const next = await transition(
      tx,
      deps,
      { ...change, reviews },
      done ? "QUEUED" : "PENDING_REVIEW",
      `approved by ${principal.id} of ${principal.team} (${approvals}/${change.requiredApprovals})${still}${comment ? `: ${comment}` : ""}`,
      "review",
    );
    if (done) {
      await queueJob(tx, next, "apply");
      await notifyChange(tx, deps, next, "APPROVED");
    }
    return next;
  });
  notify(deps, change);
  return change;
}

export async function rejectChange(
  deps: LifecycleDeps,
  principal: Principal,
  id: string,
  comment: string,
): Promise<ChangeRecord> {
  requireComment(comment, "reject");
  const change = await deps.store.transact(async (tx) => {
    const change = await loadChange(tx, id);
    assertCanReview(principal, change, deps.reviewPolicy.platformTeams);
    await assertNotHoldersRevocation(tx, principal, change);
    if (change.status !== "PENDING_REVIEW") {
      throw new FailedPreconditionError(
        `change ${id} is ${change.status}; only a change pending review can be rejected`,
      );
    }
    const now = deps.now().toISOString();
    const reviews = [
      ...change.reviews,
      { reviewer: principal.id, team: principal.team, decision: "REJECTED" as const, comment, createdAt: now },
    ];
    await tx.appendAudit({
      time: now,
      principal: principal.id,
      action: "reject-change",
      target: id,
      details: { team: principal.team, comment, ...auditIdentity(principal) },
    });
    const next = await transition(
      tx,
      deps,
      { ...change, reviews },
      "REJECTED",
      `rejected by ${principal.id}: ${comment}`,
      "review",
    );
    if (change.kind === "CREATE") await releaseUnappliedResource(tx, change);
    await notifyChange(tx, deps, next, "REJECTED", `${describe(change)} was rejected by ${principal.id}: ${comment}`);
    return next;
  });
  notify(deps, change);
  return change;
}

/**
 * A change recorded under a team other than the resource's owner is that
 * team's revocation of a grant on the resource: the team holding the grant
 * may not reject its way out of it; the revoking team (or an admin) decides.
 */
async function assertNotHoldersRevocation(tx: StoreTx, principal: Principal, change: ChangeRecord): Promise<void> {
  if (principal.roles.includes("admin") || principal.team === change.team) return;
  const resource = await tx.getResource(change.type, change.name);
  if (resource && resource.ownerTeam !== change.team) {
    throw new PermissionDeniedError(
      `change ${change.id} is team ${change.team}'s revocation of a grant held by team ${resource.ownerTeam}: ` +
        `only a reviewer of ${change.team} or an admin may reject it`,
    );
  }
}

const describe = (change: ChangeRecord) => `${change.kind} of ${change.type} "${change.name}" (change ${change.id})`;

export async function cancelChange(
  deps: LifecycleDeps,
  principal: Principal,
  id: string,
  comment: string,
): Promise<ChangeRecord> {
  requireComment(comment, "cancel");
  const change = await deps.store.transact(async (tx) => {
    const change = await loadChange(tx, id);
    const ofTeam = hasRole(principal, "requester") && change.team === principal.team;
    if (!ofTeam && change.requestedBy !== principal.id && !principal.roles.includes("admin")) {
      throw new PermissionDeniedError(
        `only a requester of team ${change.team}, its submitter or an admin can cancel change ${id}`,
      );
    }
    if (!["PENDING_REVIEW", "APPROVED", "QUEUED"].includes(change.status)) {
      throw new FailedPreconditionError(
        `change ${id} is ${change.status}; only a change that has not started applying can be cancelled`,
      );
    }
    // Once an attempt has run, the real resource may already be changed (a topic created, half deleted):
    // a cancel would leave it unmanaged or stuck, so the change runs to its end (retries included).
    // A preview for reviewers is no attempt: with its job gone, its late result is dropped.
    if (change.attempts > 0) {
      throw new FailedPreconditionError(
        `change ${id} was already attempted ${change.attempts} time(s) and may have changed the real resource, ` +
          `so it can no longer be cancelled; it will finish (or fail) on its own. To undo it, submit the spec you want ` +
          `with ApplyResource, or DeleteResource to remove the resource: a new change queues behind this one`,
      );
    }
    await tx.deleteJob(id);
    const next = await transition(tx, deps, change, "CANCELLED", `cancelled by ${principal.id}: ${comment}`);
    if (change.kind === "CREATE") await releaseUnappliedResource(tx, change);
    // A callback waiting for the end of this change hears it ends here.
    await notifyChange(tx, deps, next, "CANCELLED", `${describe(change)} was cancelled by ${principal.id}: ${comment}`);
    return next;
  });
  notify(deps, change);
  return change;
}

export async function retryChange(deps: LifecycleDeps, principal: Principal, id: string): Promise<ChangeRecord> {
  const change = await deps.store.transact(async (tx) => {
    const change = await loadChange(tx, id);
    if (!hasRole(principal, "requester") || (change.team !== principal.team && !principal.roles.includes("admin"))) {
      throw new PermissionDeniedError(`only team ${change.team} or an admin can retry change ${id}`);
    }
    if (change.status !== "FAILED") {
      throw new FailedPreconditionError(`change ${id} is ${change.status}; only a failed change can be retried`);
    }
    const latest = await tx.latestLiveChange(change.type, change.name);
    if (latest && latest.seq > change.seq) {
      throw new FailedPreconditionError(
        `change ${latest.id} to ${change.type} "${change.name}" came after ${id}; retrying would undo it: submit a new change instead`,
      );
    }
    // A retry is planned against today's state like a new submission: what was allowed then may not be now.
    const plugin = deps.plugins.get(change.type);
    const verdict = plugin ? await verdictAgainstApplied(tx, deps, plugin, change) : undefined;
    if (verdict?.outcome === "refused")
      throw new FailedPreconditionError(`change ${id} cannot be retried: ${verdict.reason}`);
    if (verdict?.outcome === "review") {
      return await returnToReview(tx, deps, change, {
        ...verdict,
        why: `retry requested by ${principal.id}; ${verdict.why}`,
      });
    }
    const next = await transition(
      tx,
      deps,
      { ...change, finishedAt: null, lastError: change.lastError },
      "QUEUED",
      `retry requested by ${principal.id}`,
    );
    await queueJob(tx, next, "apply");
    return next;
  });
  notify(deps, change);
  return change;
}
