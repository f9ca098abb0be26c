import type { ImportRecord } from "../store/records.ts";
import { auditIdentity } from "./audit-identity.ts";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError } from "./errors.ts";
import { isAdmin, teamsWithRole } from "./import-teams.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { observeImport } from "./observe-import.ts";
import { checkImportQuota, finishRecording, startRecording } from "./record-import.ts";
import type { Principal, Review } from "./types.ts";
import { freeTextLimits } from "./free-text-limits.ts";

export { importLabel } from "./record-import.ts";

/** The teams an import hands resources to, sorted. */
export const receivingTeams = (record: ImportRecord): string[] =>
  [...new Set(record.items.map((item) => item.ownerTeam))].sort();

/** Receiving teams no approval covers yet: an admin's covers all. */
export function teamsStillToApprove(record: ImportRecord): string[] {
  const approvals = record.reviews.filter((review) => review.decision === "APPROVED");
  if (approvals.some((review) => review.team === "*")) return [];
  const approved = new Set(approvals.map((review) => review.team));
  return receivingTeams(record).filter((team) => !approved.has(team));
}

async function load(deps: LifecycleDeps, id: string): Promise<ImportRecord> {
  const record = id ? await deps.store.getImport(id) : undefined;
  if (!record) throw new NotFoundError(`import "${id}" does not exist`);
  return record;
}

function checkComment(comment: string): void {
  if (comment.length > freeTextLimits.commentChars) {
    throw new InvalidArgumentError([
      { field: "comment", reason: "TOO_LONG", description: `at most ${freeTextLimits.commentChars} characters` },
    ]);
  }
}

/**
 * The teams of `record` whose share `principal` may decide: all of them for
 * an admin ("*"); for a reviewer of a platform team (`review.platformTeams`),
 * as for changes, every receiving team; else the receiving teams it reviews
 * for. Never the requester's own import.
 */
function decidableTeams(
  principal: Principal,
  record: ImportRecord,
  only: string,
  platformTeams: readonly string[] = [],
): string[] {
  if (principal.id === record.requestedBy) {
    throw new PermissionDeniedError("nobody reviews their own import: ask a reviewer of the receiving teams");
  }
  if (record.status !== "PENDING_REVIEW") {
    throw new FailedPreconditionError(`import ${record.id} is ${record.status}, not waiting for review`);
  }
  if (isAdmin(principal)) return ["*"];
  const receiving = receivingTeams(record);
  const reviewsFor = teamsWithRole(principal, "reviewer");
  const platform = reviewsFor.some((team) => platformTeams.includes(team));
  const mine = platform ? receiving : reviewsFor.filter((team) => receiving.includes(team));
  const chosen = only ? mine.filter((team) => team === only) : mine;
  if (chosen.length === 0) {
    const platformNote = platformTeams.length > 0 ? `, a reviewer of ${platformTeams.join(", ")} (platform teams)` : "";
    throw new PermissionDeniedError(
      `import ${record.id} hands resources to ${receiving.join(", ")}; only a reviewer of ${only ? `team ${only}, if it is one of them,` : "one of those teams"}${platformNote} or an admin may decide it`,
    );
  }
  return chosen;
}

/**
 * A reviewer of receiving teams approves their share (an admin, or a reviewer
 * of a platform team, the whole import). An approval that would take a
 * receiving team over a quota is refused and records nothing. The approval
 * that completes it lists the scope again just before (what changed since the
 * plan is skipped, never recorded on a stale view), makes the import
 * RECORDING, then records its resources in bounded batches before the reply
 * (see record-import.ts). Sent for a RECORDING import, it finishes recording.
 */
export async function approveImport(
  deps: LifecycleDeps,
  principal: Principal,
  id: string,
  comment: string,
  team = "",
): Promise<ImportRecord> {
  checkComment(comment);
  const planned = await load(deps, id);
  // Approved already, its recording cut short (a lost reply, a stopped server): finishing it is all that is left.
  if (planned.status === "RECORDING") return await finishRecording(deps, id);
  const teams = decidableTeams(principal, planned, team, deps.reviewPolicy.platformTeams);
  const completes =
    teamsStillToApprove({
      ...planned,
      reviews: [...planned.reviews, ...reviewsOf(deps, principal, teams, "APPROVED", comment)],
    }).length === 0;
  const plugin = deps.plugins.get(planned.type);
  if (completes && !plugin) throw new FailedPreconditionError(`no plugin handles ${planned.type} any more`);
  // Outside the transaction: the real system's view as it is now, for the resources about to be recorded.
  const fresh = completes && plugin ? await observeImport(deps.store, plugin, planned.scope, planned.rules) : undefined;
  const approved = await deps.store.transact(async (tx) => {
    const current = await tx.getImport(id);
    if (!current) throw new NotFoundError(`import "${id}" does not exist`);
    decidableTeams(principal, current, team, deps.reviewPolicy.platformTeams);
    const now = deps.now().toISOString();
    const reviews = [...current.reviews, ...reviewsOf(deps, principal, teams, "APPROVED", comment)];
    let record: ImportRecord = { ...current, reviews, updatedAt: now };
    const waiting = teamsStillToApprove(record);
    await tx.appendAudit({
      time: now,
      principal: principal.id,
      action: "approve-import",
      target: `import/${id}`,
      details: { teams, waitingFor: waiting, ...auditIdentity(principal) },
    });
    if (waiting.length === 0) {
      // Another approval may have completed it in between: then this one did not see the fresh listing.
      if (!fresh || !plugin)
        throw new FailedPreconditionError(`import ${id} changed while it was approved: approve again`);
      record = startRecording(record, fresh.items, now);
      // As a submitted change is: what the receiving teams hold and have open, plus this import, within quota.
      await checkImportQuota(tx, plugin, record);
    }
    await tx.updateImport(record);
    return record;
  });
  return approved.status === "RECORDING" ? await finishRecording(deps, id) : approved;
}

function reviewsOf(
  deps: LifecycleDeps,
  principal: Principal,
  teams: string[],
  decision: Review["decision"],
  comment: string,
): Review[] {
  const createdAt = deps.now().toISOString();
  return teams.map((team) => ({ reviewer: principal.id, team, decision, comment, createdAt }));
}

/** Rejects the whole import: a reviewer of any receiving team or of a platform team, or an admin. */
export async function rejectImport(
  deps: LifecycleDeps,
  principal: Principal,
  id: string,
  comment: string,
): Promise<ImportRecord> {
  checkComment(comment);
  return await deps.store.transact(async (tx) => {
    const current = await tx.getImport(id);
    if (!current) throw new NotFoundError(`import "${id}" does not exist`);
    const teams = decidableTeams(principal, current, "", deps.reviewPolicy.platformTeams);
    const now = deps.now().toISOString();
    const record: ImportRecord = {
      ...current,
      status: "REJECTED",
      reviews: [...current.reviews, ...reviewsOf(deps, principal, teams, "REJECTED", comment)],
      updatedAt: now,
    };
    await tx.updateImport(record);
    await tx.appendAudit({
      time: now,
      principal: principal.id,
      action: "reject-import",
      target: `import/${id}`,
      details: { teams, comment, ...auditIdentity(principal) },
    });
    return record;
  });
}
