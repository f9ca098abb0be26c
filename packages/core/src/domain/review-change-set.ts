import type { ChangeSetRecord } from "../store/change-set-rows.ts";
import type { ChangeRecord } from "../store/records.ts";
import { type DomainError, FailedPreconditionError, NotFoundError, PermissionDeniedError } from "./errors.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import { approveChange, rejectChange } from "./review-change.ts";
import type { Principal } from "./types.ts";

export interface ChangeSetView {
  set: ChangeSetRecord;
  members: ChangeRecord[];
}

/** A member a review of the set left as it was, and why (in the words ApproveChange would have used). */
export interface SkippedMember {
  changeId: string;
  reason: string;
}

export async function loadChangeSet(deps: LifecycleDeps, id: string): Promise<ChangeSetView> {
  const set = id ? await deps.store.getChangeSet(id) : undefined;
  if (!set) throw new NotFoundError(`change set "${id}" does not exist`);
  return { set, members: await deps.store.listChangeSetMembers(set.id) };
}

/**
 * ApproveChangeSet: ApproveChange on every pending member, each under its own
 * rules (nobody approves their own change, a reviewer only of a team with a
 * say in it, every team it reaches into must approve), so the set is no way
 * around them. `reviewerFor` picks the team the reviewer acts for per member,
 * as ApproveChange does. Refused when this reviewer may approve none.
 */
export async function approveChangeSet(
  deps: LifecycleDeps,
  reviewerFor: (member: ChangeRecord) => Principal,
  id: string,
  comment: string,
): Promise<ChangeSetView & { skipped: SkippedMember[] }> {
  return await reviewEach(deps, id, "approve", (member) =>
    approveChange(deps, reviewerFor(member), member.id, comment),
  );
}

/** RejectChangeSet: RejectChange on every pending member this reviewer may reject. */
export async function rejectChangeSet(
  deps: LifecycleDeps,
  reviewerFor: (member: ChangeRecord) => Principal,
  id: string,
  comment: string,
): Promise<ChangeSetView & { skipped: SkippedMember[] }> {
  return await reviewEach(deps, id, "reject", (member) => rejectChange(deps, reviewerFor(member), member.id, comment));
}

async function reviewEach(
  deps: LifecycleDeps,
  id: string,
  action: "approve" | "reject",
  review: (member: ChangeRecord) => Promise<ChangeRecord>,
): Promise<ChangeSetView & { skipped: SkippedMember[] }> {
  const { set, members } = await loadChangeSet(deps, id);
  const pending = members.filter((member) => member.status === "PENDING_REVIEW");
  if (pending.length === 0) {
    throw new FailedPreconditionError(`change set ${id} has no change pending review to ${action}`);
  }
  const skipped: SkippedMember[] = [];
  for (const member of pending) {
    try {
      await review(member);
    } catch (error) {
      // A member this reviewer may not review stays as it is; another error (a bad comment) is the call's.
      if (!(error instanceof PermissionDeniedError || error instanceof FailedPreconditionError)) throw error;
      skipped.push({ changeId: member.id, reason: (error as DomainError).message });
    }
  }
  if (skipped.length === pending.length && skipped.length > 0) {
    throw new PermissionDeniedError(
      `nothing in change set ${id} could be ${action}d by this reviewer: ${skipped.map((s) => `${s.changeId}: ${s.reason}`).join("; ")}`,
    );
  }
  return { set, members: await deps.store.listChangeSetMembers(set.id), skipped };
}
