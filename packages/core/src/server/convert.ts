import { create, fromJson } from "@bufbuild/protobuf";
import { ValueSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AccessRequestSchema,
  type Change,
  ChangeEventSchema,
  ChangeKind,
  ChangePreviewSchema,
  ChangeSchema,
  ChangeStatus,
  ReviewDecision,
  ReviewSchema,
  type ChangeEvent,
} from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import {
  type Resource,
  ResourceDriftSchema,
  ResourceSchema,
  ResourceStatus,
  type Revision,
  RevisionSchema,
} from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import {
  type AccessGrant as AccessGrantProto,
  AccessGrantSchema,
  SpecDifferenceSchema,
  type SpecDifference,
} from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";
import type { AccessGrant } from "../domain/list-access-grants.ts";
import type * as domain from "../domain/types.ts";
import type { ChangeEventRecord, ChangeRecord, ResourceRecord, RevisionRecord } from "../store/records.ts";

// Domain <-> protobuf, and nothing else: handlers stay thin, the domain knows no protobuf.

const ts = (iso: string | null) => (iso ? timestampFromDate(new Date(iso)) : undefined);

export const changeKindToProto: Record<domain.ChangeKind, ChangeKind> = {
  CREATE: ChangeKind.CREATE,
  UPDATE: ChangeKind.UPDATE,
  DELETE: ChangeKind.DELETE,
};

export const changeStatusToProto: Record<domain.ChangeStatus, ChangeStatus> = {
  PENDING_REVIEW: ChangeStatus.PENDING_REVIEW,
  APPROVED: ChangeStatus.APPROVED,
  QUEUED: ChangeStatus.QUEUED,
  APPLYING: ChangeStatus.APPLYING,
  SUCCEEDED: ChangeStatus.SUCCEEDED,
  FAILED: ChangeStatus.FAILED,
  REJECTED: ChangeStatus.REJECTED,
  CANCELLED: ChangeStatus.CANCELLED,
};

export const resourceStatusToProto: Record<domain.ResourceStatus, ResourceStatus> = {
  PROVISIONING: ResourceStatus.PROVISIONING,
  READY: ResourceStatus.READY,
  FAILED: ResourceStatus.FAILED,
  DELETING: ResourceStatus.DELETING,
  DELETED: ResourceStatus.DELETED,
  DRIFTED: ResourceStatus.DRIFTED,
};

function invert<K extends string, V extends number>(table: Record<K, V>): Map<V, K> {
  return new Map(Object.entries(table).map(([key, value]) => [value as V, key as K]));
}

export const changeStatusFromProto = invert(changeStatusToProto);
export const resourceStatusFromProto = invert(resourceStatusToProto);

export function changeToProto(change: ChangeRecord): Change {
  return create(ChangeSchema, {
    id: change.id,
    type: change.type,
    name: change.name,
    kind: changeKindToProto[change.kind],
    status: changeStatusToProto[change.status],
    requestedBy: change.requestedBy,
    team: change.team,
    changeSetId: change.changeSetId ?? "",
    reviews: change.reviews.map((review) =>
      create(ReviewSchema, {
        reviewer: review.reviewer,
        decision: review.decision === "APPROVED" ? ReviewDecision.APPROVED : ReviewDecision.REJECTED,
        comment: review.comment,
        createTime: ts(review.createdAt),
        team: review.team ?? "",
      }),
    ),
    accessRequests: change.accessRequests.map((request) =>
      create(AccessRequestSchema, {
        ...request,
        approvedBy: change.reviews
          .filter((review) => review.decision === "APPROVED" && review.team === request.ownerTeam)
          .map((review) => review.reviewer),
      }),
    ),
    requiredApprovals: change.requiredApprovals,
    spec: change.spec ?? undefined,
    resolvedSpec: change.resolvedSpec ?? undefined,
    baseRevision: BigInt(change.baseRevision),
    attempts: change.attempts,
    lastError: change.lastError ?? "",
    comment: change.comment,
    createTime: ts(change.createdAt),
    updateTime: ts(change.updatedAt),
    finishTime: ts(change.finishedAt),
    reviewReasons: change.reviewReasons,
    resultRevision: BigInt(change.resultRevision ?? 0),
    explanations: change.explanations,
    preview: change.preview
      ? create(ChangePreviewSchema, {
          steps: change.preview.steps,
          destructive: change.preview.destructive,
          details: change.preview.details,
          time: ts(change.preview.time),
        })
      : undefined,
  });
}

export function accessGrantToProto(grant: AccessGrant): AccessGrantProto {
  return create(AccessGrantSchema, { ...grant, since: ts(grant.since) });
}

/** Secret outputs never leave through here: only their names. */
export function resourceToProto(resource: ResourceRecord): Resource {
  return create(ResourceSchema, {
    type: resource.type,
    name: resource.name,
    ownerTeam: resource.ownerTeam,
    status: resourceStatusToProto[resource.status],
    revision: BigInt(resource.revision),
    spec: resource.spec ?? undefined,
    resolvedSpec: resource.resolvedSpec ?? undefined,
    outputs: resource.outputs,
    labels: resource.labels,
    createTime: ts(resource.createdAt),
    updateTime: ts(resource.updatedAt),
    secretOutputKeys: resource.secretOutputKeys,
    drift: resource.drift
      ? create(ResourceDriftSchema, { detectTime: ts(resource.drift.detectedAt), findings: resource.drift.findings })
      : undefined,
  });
}

export function revisionToProto(revision: RevisionRecord): Revision {
  return create(RevisionSchema, {
    type: revision.type,
    name: revision.name,
    revision: BigInt(revision.revision),
    changeId: revision.changeId,
    spec: revision.spec ?? undefined,
    resolvedSpec: revision.resolvedSpec ?? undefined,
    outputs: revision.outputs,
    requestedBy: revision.requestedBy,
    approvedBy: revision.approvedBy,
    createTime: ts(revision.createdAt),
    deleted: revision.deleted,
  });
}

export function eventToProto(event: ChangeEventRecord): ChangeEvent {
  return create(ChangeEventSchema, {
    changeId: event.changeId,
    sequence: BigInt(event.sequence),
    time: ts(event.time),
    status: event.status ? changeStatusToProto[event.status] : ChangeStatus.UNSPECIFIED,
    kind: event.kind,
    message: event.message,
    details: event.details ?? undefined,
  });
}

export function differenceToProto(difference: domain.SpecDifference): SpecDifference {
  const value = (json: domain.Json | undefined) => (json === undefined ? undefined : fromJson(ValueSchema, json));
  return create(SpecDifferenceSchema, {
    path: difference.path,
    op: difference.op,
    before: value(difference.before),
    after: value(difference.after),
  });
}
