import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ReviewDecision, ReviewSchema } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import {
  type Import,
  ImportSchema,
  ImportStatus,
  ImportTeamSchema,
  ImportedResourceSchema,
  SkippedResourceSchema,
} from "@plinth/sdk/gen/plinth/v1/import_service_pb.ts";
import { receivingTeams } from "../domain/review-import.ts";
import type { ImportRecord } from "../store/records.ts";

const statuses: Record<ImportRecord["status"], ImportStatus> = {
  PENDING_REVIEW: ImportStatus.PENDING_REVIEW,
  RECORDING: ImportStatus.RECORDING,
  IMPORTED: ImportStatus.IMPORTED,
  REJECTED: ImportStatus.REJECTED,
};

/** An import as the API shows it; a dry run's plan (no id) as PLANNED. */
export function importToProto(record: ImportRecord): Import {
  const approvals = record.reviews.filter((review) => review.decision === "APPROVED");
  return create(ImportSchema, {
    id: record.id,
    type: record.type,
    scope: record.scope,
    status: record.id ? statuses[record.status] : ImportStatus.PLANNED,
    requestedBy: record.requestedBy,
    comment: record.comment,
    resources: record.items.map((item) =>
      create(ImportedResourceSchema, { name: item.name, team: item.ownerTeam, spec: item.spec }),
    ),
    skipped: record.skipped.map((skip) => create(SkippedResourceSchema, skip)),
    teams: receivingTeams(record).map((team) =>
      create(ImportTeamSchema, {
        team,
        resources: record.items.filter((item) => item.ownerTeam === team).length,
        // An admin's approval ("*") covers every team.
        approvedBy: approvals.filter((r) => r.team === team || r.team === "*").map((r) => r.reviewer),
      }),
    ),
    reviews: record.reviews.map((review) =>
      create(ReviewSchema, {
        reviewer: review.reviewer,
        decision: review.decision === "APPROVED" ? ReviewDecision.APPROVED : ReviewDecision.REJECTED,
        comment: review.comment,
        createTime: timestampFromDate(new Date(review.createdAt)),
        team: review.team ?? "",
      }),
    ),
    createTime: timestampFromDate(new Date(record.createdAt)),
    updateTime: timestampFromDate(new Date(record.updatedAt)),
  });
}
