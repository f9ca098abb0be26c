import { randomUUID } from "node:crypto";
import { queueJob } from "./queue-job.ts";
import { notifyChange } from "../notifications/emit-notification.ts";
import type { AccessRequestRecord, ResourceRecord } from "../store/records.ts";
import type { StoreTx } from "../store/store.ts";
import { auditIdentity } from "./audit-identity.ts";
import type { LifecycleDeps } from "./lifecycle-deps.ts";
import type { ChangeKind, JsonObject, Principal } from "./types.ts";
import type { CallbackInput, SubmitResult } from "./submit-types.ts";

/** Records the change, its idempotency key and (when auto-approved) its job, in the caller's transaction. */
export async function recordChange(
  tx: StoreTx,
  deps: LifecycleDeps,
  principal: Principal,
  fields: {
    type: string;
    name: string;
    kind: ChangeKind;
    spec: JsonObject | null;
    resolvedSpec: JsonObject | null;
    explanations: Record<string, string>;
    requiredApprovals: number;
    reviewReasons: string[];
    accessRequests: AccessRequestRecord[];
    /** The team the change belongs to when not the resource's: a revocation belongs to the team revoking. */
    team?: string;
    comment: string;
    labels: Record<string, string>;
    requestId: string;
    hash: string;
    /** A webhook for this change only, checked by the caller; its secret already sealed. */
    callback?: CallbackInput & { sealedSecret: string | null };
    /** The change set it belongs to and its dependency order there. */
    changeSet?: { id: string; order: number };
  },
  resource: ResourceRecord,
): Promise<SubmitResult> {
  const now = deps.now().toISOString();
  const autoApproved = fields.requiredApprovals === 0;
  const change = await tx.insertChange({
    id: deps.newId(),
    type: fields.type,
    name: fields.name,
    kind: fields.kind,
    status: autoApproved ? "QUEUED" : "PENDING_REVIEW",
    requestedBy: principal.id,
    team: fields.team ?? resource.ownerTeam,
    spec: fields.spec,
    resolvedSpec: fields.resolvedSpec,
    explanations: fields.explanations,
    baseRevision: resource.revision,
    requiredApprovals: fields.requiredApprovals,
    reviewReasons: fields.reviewReasons,
    reviews: [],
    attempts: 0,
    lastError: null,
    comment: fields.comment,
    labels: fields.labels,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
    resultRevision: null,
    preview: null,
    accessRequests: fields.accessRequests,
    changeSetId: fields.changeSet?.id ?? null,
    changeSetOrder: fields.changeSet?.order ?? 0,
  });
  await tx.upsertResource(resource);
  await tx.appendAudit({
    time: now,
    principal: principal.id,
    action: "request-change",
    target: change.id,
    details: { kind: change.kind, resource: `${change.type}/${change.name}`, ...auditIdentity(principal) },
  });
  await tx.appendEvent({
    changeId: change.id,
    time: now,
    status: change.status,
    kind: "status",
    message: autoApproved
      ? `submitted by ${principal.id}; auto-approved and queued`
      : `submitted by ${principal.id}; needs ${fields.requiredApprovals} approval(s): ${fields.reviewReasons.join("; ")}`,
    details: null,
  });
  if (fields.callback) {
    // Before the first event, so the callback hears of the submission too.
    await tx.insertSubscription({
      id: randomUUID(),
      ownerTeam: principal.team,
      createdBy: principal.id,
      url: fields.callback.url,
      format: fields.callback.format,
      sealedSecret: fields.callback.sealedSecret,
      teams: [],
      types: [],
      kinds: fields.callback.kinds,
      changeId: change.id,
      createdAt: now,
    });
  }
  await notifyChange(tx, deps, change, "SUBMITTED");
  if (!autoApproved) await notifyChange(tx, deps, change, "PENDING_REVIEW");
  // Auto-approved: apply it. Otherwise compute the engine's preview for the reviewers first.
  await queueJob(tx, change, autoApproved ? "apply" : "preview");
  if (fields.requestId) {
    await tx.insertIdempotencyKey({
      principal: principal.id,
      requestId: fields.requestId,
      requestHash: fields.hash,
      changeId: change.id,
      createdAt: now,
    });
  }
  return { change, resource, deduplicated: false, noOp: false };
}

/**
 * The resource row as a new change on it leaves it: what was applied stays
 * until the change applies; a resource that does not exist yet (or was
 * deleted) is opened anew, PROVISIONING.
 */
export function resourceUnderChange(
  previous: ResourceRecord | undefined,
  next: Pick<ResourceRecord, "type" | "name" | "identity" | "ownerTeam" | "labels">,
  now: string,
): ResourceRecord {
  const reopened = !previous || previous.status === "DELETED" || previous.revision === 0;
  return {
    ...next,
    status: reopened ? "PROVISIONING" : previous.status,
    revision: previous?.revision ?? 0,
    spec: previous?.spec ?? null,
    resolvedSpec: previous?.resolvedSpec ?? null,
    outputs: previous?.outputs ?? {},
    secretOutputs: previous?.secretOutputs ?? null,
    secretOutputKeys: previous?.secretOutputKeys ?? [],
    labels: previous?.labels ?? next.labels,
    createdAt: reopened ? now : previous.createdAt,
    updatedAt: now,
    drift: previous?.drift ?? null,
  };
}
