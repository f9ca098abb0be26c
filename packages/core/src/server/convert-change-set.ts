import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type ChangeSet,
  ChangeSetMemberSchema,
  ChangeSetSchema,
  PlanAction,
  type PlannedChange,
  PlannedChangeSchema,
} from "@plinth/sdk/gen/plinth/v1/change_set_service_pb.ts";
import type { ChangeSetEntryInput } from "../domain/plan-change-set.ts";
import { teamsStillToApprove } from "../domain/ownership.ts";
import type { ChangeSetRecord, PlannedEntryRecord } from "../store/change-set-rows.ts";
import type { ChangeRecord } from "../store/records.ts";
import type { JsonObject } from "../domain/types.ts";
import { changeToProto, differenceToProto } from "./convert.ts";

const actions: Record<PlannedEntryRecord["action"], PlanAction> = {
  CREATE: PlanAction.CREATE,
  UPDATE: PlanAction.UPDATE,
  DELETE: PlanAction.DELETE,
  NO_OP: PlanAction.NO_OP,
};

export const entryFromProto = (entry: {
  type: string;
  name: string;
  labels: Record<string, string>;
  spec?: JsonObject;
  delete: boolean;
}): ChangeSetEntryInput => ({
  type: entry.type,
  name: entry.name,
  labels: entry.labels,
  spec: entry.spec,
  delete: entry.delete,
});

export function plannedToProto(entry: PlannedEntryRecord): PlannedChange {
  return create(PlannedChangeSchema, {
    type: entry.type,
    name: entry.name,
    action: actions[entry.action],
    differences: entry.differences.map(differenceToProto),
    labelDifferences: entry.labelDifferences.map(differenceToProto),
    risks: entry.risks,
    requiredApprovals: entry.requiredApprovals,
    reviewReasons: entry.reviewReasons,
    approvingTeams: entry.approvingTeams,
    refusal: entry.refusal,
    baseRevision: BigInt(entry.baseRevision),
    order: entry.order,
  });
}

/**
 * Teams whose reviewer must still approve a pending member: each team it
 * reaches into that has not, and its own team when those approvals would not
 * make up the number it needs.
 */
export function waitingFor(change: ChangeRecord): string[] {
  if (change.status !== "PENDING_REVIEW") return [];
  const approvals = change.reviews.filter((review) => review.decision === "APPROVED").length;
  const asked = teamsStillToApprove(change.accessRequests, change.reviews);
  const own = change.requiredApprovals - approvals > asked.length ? [change.team] : [];
  return [...new Set([...own, ...asked])];
}

export function changeSetToProto(set: ChangeSetRecord, members: ChangeRecord[]): ChangeSet {
  return create(ChangeSetSchema, {
    id: set.id,
    requestedBy: set.requestedBy,
    team: set.team,
    comment: set.comment,
    planId: set.planId,
    createTime: timestampFromDate(new Date(set.createdAt)),
    unchanged: set.unchanged,
    members: members.map((change) =>
      create(ChangeSetMemberSchema, {
        change: changeToProto(change),
        order: change.changeSetOrder ?? 0,
        waitingFor: waitingFor(change),
      }),
    ),
  });
}
