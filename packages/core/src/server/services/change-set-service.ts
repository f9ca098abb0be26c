import type { ServiceImpl } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ChangeSetService } from "@plinth/sdk/gen/plinth/v1/change_set_service_pb.ts";
import { teamsStillToApprove } from "../../domain/ownership.ts";
import { planChangeSet } from "../../domain/plan-change-set.ts";
import { approveChangeSet, loadChangeSet, rejectChangeSet } from "../../domain/review-change-set.ts";
import { submitChangeSet } from "../../domain/submit-change-set.ts";
import type { ChangeRecord } from "../../store/records.ts";
import type { Principal } from "../../domain/types.ts";
import { actingFor, principalOf } from "../auth.ts";
import { changeSetToProto, entryFromProto, plannedToProto } from "../convert-change-set.ts";
import type { ServiceDeps } from "./service-deps.ts";

/** ChangeSetService: proto in, one domain call, proto out. */
export function changeSetService(deps: ServiceDeps): ServiceImpl<typeof ChangeSetService> {
  /** Per member, the team a reviewer in several teams acts for, as ApproveChange picks it. */
  const reviewerFor = (principal: Principal) => (member: ChangeRecord) => {
    if (!principal.teams) return principal;
    const reviews = principal.teams.filter((m) => m.roles.includes("reviewer")).map((m) => m.team);
    const waiting = teamsStillToApprove(member.accessRequests, member.reviews);
    return actingFor(principal, "", waiting.find((team) => reviews.includes(team)) ?? member.team);
  };
  return {
    async planChangeSet(req, context) {
      const { plan, stored } = await planChangeSet(deps, principalOf(context), req.entries.map(entryFromProto));
      return {
        planId: stored ? plan.id : "",
        changes: plan.entries.map(plannedToProto),
        expireTime: stored ? timestampFromDate(new Date(plan.expiresAt)) : undefined,
      };
    },
    async submitChangeSet(req, context) {
      const submitted = await submitChangeSet(deps, principalOf(context), {
        planId: req.planId,
        entries: req.entries.map(entryFromProto),
        requestId: req.requestId,
        comment: req.comment,
      });
      return { changeSet: changeSetToProto(submitted.set, submitted.members), deduplicated: submitted.deduplicated };
    },
    async getChangeSet(req, context) {
      principalOf(context);
      const { set, members } = await loadChangeSet(deps, req.id);
      return { changeSet: changeSetToProto(set, members) };
    },
    async approveChangeSet(req, context) {
      const result = await approveChangeSet(deps, reviewerFor(principalOf(context)), req.id, req.comment);
      return { changeSet: changeSetToProto(result.set, result.members), skipped: result.skipped };
    },
    async rejectChangeSet(req, context) {
      const result = await rejectChangeSet(deps, reviewerFor(principalOf(context)), req.id, req.comment);
      return { changeSet: changeSetToProto(result.set, result.members), skipped: result.skipped };
    },
  };
}
